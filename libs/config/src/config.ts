import { Duration } from 'luxon';
import { z } from 'zod';

const isoDuration = z.string().refine((value) => Duration.fromISO(value).isValid, {
  message: 'must be an ISO 8601 duration such as P90D or PT0S',
});

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    message: 'must be true or false',
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const urlWithProtocol = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}` },
  );

/** Every environment variable Accord reads, validated once at boot (SPEC §5). */
export const configSchema = z.object({
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:']).default(
    'postgres://root@127.0.0.1:5432/accord',
  ),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]+$/, 'may contain only letters, digits, ":", "_" and "-"')
    .default('accord'),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  ADMIN_API_KEY: z
    .string()
    .min(24, 'must be at least 24 characters so that it cannot be guessed')
    .optional(),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanFlag.default(false),
  ALERT_LEAD_TIMES: z
    .string()
    .default('P90D,P30D,P7D,P1D,PT0S')
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(z.array(isoDuration).min(1)),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /** How often a subscription runner polls when no notification arrives (milliseconds). */
  SUBSCRIPTION_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
});

export type AccordConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment into a typed config. Empty strings count as unset so that
 * `FOO= npm start` falls back to the default instead of failing on "".
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): AccordConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([key, value]) => key in configSchema.shape && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`),
    );
  }
  return parsed.data;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'] as const;

/** Nest takes the list of levels to print; the config names the most verbose one. */
export function nestLogLevels(level: AccordConfig['LOG_LEVEL']): AccordConfig['LOG_LEVEL'][] {
  return LOG_LEVELS.slice(0, LOG_LEVELS.indexOf(level) + 1);
}
