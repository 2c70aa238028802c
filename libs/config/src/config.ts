import { isValidLeadTime, LEAD_TIME_RULE } from '@app/domain';
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

/** A URL with one of `protocols`, and a path that `path.rule` accepts, if given. */
const urlWithProtocol = (protocols: string[], path?: { rule: RegExp; message: string }) =>
  z.string().superRefine((value, context) => {
    let url: URL | undefined;
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
    if (!url || !protocols.includes(url.protocol)) {
      context.addIssue({
        code: 'custom',
        message: `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
      });
    } else if (path && !path.rule.test(url.pathname)) {
      context.addIssue({ code: 'custom', message: path.message });
    }
  });

/**
 * A whole number from `min` to `max`, read as `Number` reads the variable. Whatever is wrong
 * (not a number, a fraction, out of range) gets the one message that says what is expected,
 * `kind` naming what the number counts: "must be a port number, an integer from 1 to 65535".
 */
const wholeNumber = (min: number, max: number, kind?: string) => {
  const error = `must be ${kind ? `${kind}, ` : ''}an integer from ${min} to ${max}`;
  return z.coerce.number({ error }).int({ error }).min(min, { error }).max(max, { error });
};
const port = () => wholeNumber(1, 65535, 'a port number');
const milliseconds = (min: number, max: number, fallback: number) =>
  wholeNumber(min, max, 'a number of milliseconds').default(fallback);
const HOUR = 3_600_000;

/**
 * Webhook delivery (issue 5). The defaults retry for a little over a day with exponential
 * backoff from 10 s up to 6 h between attempts; tests shrink them.
 */
const webhookSettings = {
  /** Delivery attempts at once per worker process (a slow endpoint holds one slot per attempt). */
  WEBHOOK_CONCURRENCY: wholeNumber(1, 1000).default(50),
  WEBHOOK_CONNECT_TIMEOUT_MS: milliseconds(100, 60_000, 5_000),
  /** The whole request, connection to last byte read. */
  WEBHOOK_TIMEOUT_MS: milliseconds(100, 120_000, 15_000),
  /** How much of a response body is read (and kept in the attempt log). */
  WEBHOOK_MAX_RESPONSE_BYTES: wholeNumber(0, 1_048_576, 'a number of bytes').default(4096),
  WEBHOOK_RETRY_BASE_MS: milliseconds(1, HOUR, 10_000),
  WEBHOOK_RETRY_MAX_DELAY_MS: milliseconds(1, 24 * HOUR, 6 * HOUR),
  /** A delivery is retried until this long after its first attempt, then marked failed. */
  WEBHOOK_RETRY_WINDOW_MS: milliseconds(1, 30 * 24 * HOUR, 26 * HOUR),
  /** Consecutive failed attempts (across deliveries) after which a subscription is disabled. */
  WEBHOOK_DISABLE_AFTER_FAILURES: wholeNumber(1, 100_000).default(100),
  /** How long the previous secret still signs after a rotation. */
  WEBHOOK_SECRET_GRACE_MS: milliseconds(0, 30 * 24 * HOUR, 24 * HOUR),
  /** The delivery pump's poll when no notification arrives (also finds expired leases). */
  WEBHOOK_RELAY_POLL_MS: milliseconds(10, 60_000, 1_000),
  /** The worker serves Prometheus metrics on this port when set (the api serves `/metrics`). */
  WORKER_METRICS_PORT: port().optional(),
};

/** Every environment variable Accord reads, validated once at boot (SPEC §5). */
export const configSchema = z.object({
  DATABASE_URL: urlWithProtocol(['postgres:', 'postgresql:'], {
    // Without one, pg would use the server's default database (the user's name) unasked.
    rule: /^\/[^/]+$/,
    message: 'must name the database, as in postgres://user@host:5432/accord',
  }).default('postgres://root@127.0.0.1:5432/accord'),
  /**
   * The api and the worker: a query unanswered this long fails (the api answers 503
   * database-unavailable, the worker retries) instead of waiting for ever on a database that is
   * frozen or cut off. The CLI sets none.
   */
  DATABASE_QUERY_TIMEOUT_MS: milliseconds(1000, 3_600_000, 30_000),
  REDIS_URL: urlWithProtocol(['redis:', 'rediss:'], {
    rule: /^(\/\d{0,5})?$/,
    message: 'may name a database by its index only, as in redis://host:6379/0',
  }).default('redis://127.0.0.1:6379'),
  /**
   * Redis Cluster keeps the keys of one BullMQ queue together only if they share a hash tag:
   * `{accord}` (SPEC §5), so one pair of braces around a non-empty tag is allowed.
   */
  REDIS_PREFIX: z
    .string()
    .regex(
      /^[A-Za-z0-9:_-]*(\{[A-Za-z0-9:_-]+\})?[A-Za-z0-9:_-]*$/,
      'may contain only letters, digits, ":", "_" and "-", and one hash tag in braces such as {accord}',
    )
    .min(1)
    .default('accord'),
  PORT: port().default(3000),
  ADMIN_API_KEY: z
    .string()
    .min(24, 'must be at least 24 characters so that it cannot be guessed')
    .optional(),
  /**
   * Set by the Docker images (`production`): there, an `ADMIN_API_KEY` that `weakAdminApiKey`
   * finds weak stops the start; elsewhere the api only warns about it.
   */
  NODE_ENV: z.string().optional(),
  /**
   * The URL clients reach the api at (`https://accord.example.org`, or with a path prefix a
   * proxy adds), for the absolute URLs the api hands out (the calendar feed URL). Unset, they
   * are built from each request's `Host` and scheme, which behind a TLS-terminating proxy is
   * `http://`. Also the origin the queue dashboard expects in a browser's `Origin` (its
   * cross-site check). Kept without a trailing slash.
   */
  PUBLIC_BASE_URL: z
    .string()
    .superRefine((value, context) => {
      let url: URL | undefined;
      try {
        url = new URL(value);
      } catch {
        url = undefined;
      }
      if (/[\s\\%]/.test(value)) {
        // The URL parser would drop or rewrite them (a tab, a backslash read as `/`), or a bare
        // `%` would make every URL built on it invalid: the value is not what it looks like.
        context.addIssue({
          code: 'custom',
          message: 'must not contain whitespace, backslashes or percent signs',
        });
      } else if (!url || !['http:', 'https:'].includes(url.protocol)) {
        context.addIssue({
          code: 'custom',
          message: 'must be a URL starting with http:// or https://',
        });
      } else if (
        url.username ||
        url.password ||
        url.search ||
        url.hash ||
        value.includes('?') ||
        value.includes('#')
      ) {
        context.addIssue({
          code: 'custom',
          message:
            'must be a scheme, host and optional path only, as in https://accord.example.org',
        });
      }
    })
    .transform((value) => {
      const url = new URL(value);
      return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
    })
    .optional(),
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanFlag.default(false),
  ALERT_LEAD_TIMES: z
    .string()
    .default('P90D,P30D,P7D,P1D,PT0S')
    .transform((value) => value.split(',').map((part) => part.trim()))
    .pipe(
      z
        .array(isoDuration)
        .min(1)
        .superRefine((leadTimes, context) => {
          // The schedule would drop these without a word: no alert has a fire time there.
          const refused = leadTimes.filter(
            (leadTime) => Duration.fromISO(leadTime).isValid && !isValidLeadTime(leadTime),
          );
          if (refused.length) {
            context.addIssue({
              code: 'custom',
              message:
                refused.length === 1
                  ? `${refused[0]} must be a duration ${LEAD_TIME_RULE}`
                  : `${refused.join(', ')} must be durations ${LEAD_TIME_RULE}`,
            });
          }
        }),
    ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'log', 'debug', 'verbose']).default('log'),
  /**
   * Set by npm, not by operators: the directory `npm run` was called from (it then moves to the
   * package's root). The CLI resolves the relative paths it is given against it.
   */
  INIT_CWD: z.string().optional(),
  /** How often a subscription runner polls when no notification arrives (milliseconds). */
  SUBSCRIPTION_POLL_MS: milliseconds(10, 60_000, 1000),
  /** How often the alert relay looks for new pending alerts to enqueue (milliseconds). */
  ALERT_RELAY_POLL_MS: milliseconds(10, 60_000, 1000),
  /** Period of the alert reconciler's BullMQ job scheduler (milliseconds). */
  ALERT_RECONCILE_EVERY_MS: milliseconds(1000, 86_400_000, 60_000),
  /** How often the worker checks that Redis still holds its alert scheduler (flush detection). */
  ALERT_WATCHDOG_MS: milliseconds(100, 600_000, 1000),
  /** Alert jobs one worker runs at once. */
  ALERT_WORKER_CONCURRENCY: wholeNumber(1, 1000).default(20),
  /** BullMQ lock of an active alert job: a dead worker's job is taken over after this long. */
  ALERT_JOB_LOCK_MS: milliseconds(1000, 600_000, 30_000),
  /**
   * How long a stopping worker or api may take after SIGTERM or SIGINT before it exits anyway:
   * above a webhook attempt's timeout, so that attempts in flight can finish; below the 30 s most
   * supervisors wait before SIGKILL. What the worker had in hand then is taken up again from
   * PostgreSQL; the api's requests still in flight are cut off.
   */
  SHUTDOWN_TIMEOUT_MS: milliseconds(1000, 600_000, 20_000),
  ...webhookSettings,
});

/**
 * What no variable says alone: a weak `ADMIN_API_KEY` is refused only where `NODE_ENV` is
 * `production` (the README's first command uses the placeholder, locally).
 */
const checkedConfigSchema = configSchema.superRefine((config, context) => {
  const weakness = config.ADMIN_API_KEY ? weakAdminApiKey(config.ADMIN_API_KEY) : undefined;
  if (weakness && config.NODE_ENV === 'production') {
    context.addIssue({
      code: 'custom',
      path: ['ADMIN_API_KEY'],
      message: `${weakness}; with NODE_ENV=production it must be a secret of your own (e.g. \`openssl rand -base64 32\`)`,
    });
  }
});

/** The value the README's examples use for `ADMIN_API_KEY`: known to anyone who read them. */
export const DOCUMENTED_ADMIN_API_KEY = 'change-me-to-a-long-secret';

/**
 * Why an `ADMIN_API_KEY` of the right length is still an obviously weak secret: the README's
 * placeholder, or one character or a group of up to four repeated (`aaaa…`, `abab…`,
 * `12341234…`). Undefined when none of these applies (which does not make it strong).
 */
export function weakAdminApiKey(value: string): string | undefined {
  if (value.trim().toLowerCase() === DOCUMENTED_ADMIN_API_KEY)
    return 'is the placeholder from the README, which anyone can read';
  if (/^(.{1,4})\1+$/su.test(value))
    return 'repeats one character or a group of up to four, which is easy to guess';
  return undefined;
}

export type AccordConfig = z.infer<typeof configSchema>;

/**
 * A reason not to start that the operator can act on, said in full by its message: the entry
 * points print it as it is, without a stack.
 */
export class OperatorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OperatorError';
  }
}

export class ConfigError extends OperatorError {
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
  const parsed = checkedConfigSchema.safeParse(present);
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
