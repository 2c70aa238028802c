import type { AccordConfig } from '@app/config';
import type { ConnectionOptions, KeyPrefixOptions, QueueBaseOptions } from 'bullmq';

/**
 * Shared by producers (api, relay, reconciler) and consumers (worker processors) of BullMQ
 * queues. A payload carries ids only: the truth, and any secret, stays in PostgreSQL. Webhook
 * deliveries use no queue: the worker claims them from PostgreSQL in batches (`@app/webhooks`).
 */

/**
 * Connection and key prefix for every BullMQ queue and worker. `maxRetriesPerRequest: null` is
 * what BullMQ requires of a worker's connection; a fresh connection per queue or worker (BullMQ
 * duplicates blocking connections itself), retried as often as the shared one after an outage.
 */
export function bullOptions(config: Pick<AccordConfig, 'REDIS_URL' | 'REDIS_PREFIX'>): {
  connection: ConnectionOptions;
  prefix: string;
} {
  const url = new URL(config.REDIS_URL);
  const db = url.pathname.length > 1 ? Number(url.pathname.slice(1)) : undefined;
  const connection: ConnectionOptions = {
    host: url.hostname,
    port: url.port ? Number(url.port) : 6379,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(db !== undefined && Number.isInteger(db) ? { db } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
    // ioredis's own default, as the shared connection (@app/redis) has: a try at most every 2 s.
    // BullMQ's default backs off to one every 20 s, so that after an outage of more than a few
    // seconds the alert queue and worker came back up to 20 s after Redis did.
    retryStrategy: (times: number) => Math.min(times * 50, 2000),
  };
  return { connection, prefix: config.REDIS_PREFIX } satisfies QueueBaseOptions & KeyPrefixOptions;
}
