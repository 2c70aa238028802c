import type { FactoryProvider } from '@nestjs/common';
import { ACCORD_CONFIG, ConfigError, type AccordConfig } from '@app/config';
import { redactUrl } from '@app/database';
import { Redis } from 'ioredis';

export type RedisProbe = { reachable: true } | { reachable: false; reason: string };

/**
 * Connects once to `url`, without retrying, and selects the database it names. ioredis itself
 * would report a refused SELECT (an index past the server's `databases`, any index but 0 on a
 * cluster) as a passing error and go on in database 0, beside other data: here it is a
 * `ConfigError`. Redis out of reach is only reported, for the caller to decide.
 */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<RedisProbe> {
  const target = new URL(url);
  const index = Number(target.pathname.slice(1) || '0');
  target.pathname = '';
  const client = new Redis(target.toString(), {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The connection's own error says why (ECONNREFUSED …); the rejected connect only that it closed.
  let connectionError: Error | undefined;
  client.on('error', (error: Error) => (connectionError ??= error));
  try {
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      return { reachable: false, reason: (connectionError ?? (error as Error)).message };
    }
    try {
      if (index !== 0) await client.select(index);
    } catch (error) {
      throw new ConfigError([
        `REDIS_URL: Redis at ${redactUrl(url)} refuses database ${index}: ${(error as Error).message}`,
      ]);
    }
    return { reachable: true };
  } finally {
    client.disconnect();
  }
}

/** Resolved once Redis accepted the database REDIS_URL names, or could not be asked. */
export const REDIS_DATABASE_CHECKED = Symbol('REDIS_DATABASE_CHECKED');

/**
 * Stops a start with a `ConfigError` when Redis answers but refuses the database REDIS_URL
 * names; Redis out of reach does not stop it (the connections retry until it is back). An async
 * factory, so that it runs while Nest builds the app, before anything writes to Redis.
 */
export const redisDatabaseCheck: FactoryProvider<RedisProbe> = {
  provide: REDIS_DATABASE_CHECKED,
  inject: [ACCORD_CONFIG],
  useFactory: (config: AccordConfig) => probeRedis(config.REDIS_URL, 2000),
};
