import { Worker, type Queue, type RedisQueueBackend } from 'bullmq';

/** A BullMQ queue or worker (Redis-backed, as every one Accord makes). */
type BullInstance = Pick<Queue, 'close' | 'getBackend'>;

/** How long a connection still being made at start-up is given to be made. */
const CONNECTING_MS = 500;

/**
 * Whether Redis answers this queue's or worker's connection: connected (BullMQ resolves its
 * client once it is, at most `CONNECTING_MS` from now for one being made) and not lost since.
 */
export async function redisAnswers(target: BullInstance): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const client = await Promise.race([
    target.getBackend().client,
    new Promise<undefined>(
      (resolve) => (timer = setTimeout(() => resolve(undefined), CONNECTING_MS)),
    ),
  ])
    .catch(() => undefined)
    .finally(() => clearTimeout(timer));
  return client?.status === 'ready';
}

/**
 * Closes a queue or worker within `graceMs`, and says how: `closed` gracefully (a worker lets
 * the jobs in hand finish and records their outcome), or dropped, because Redis did not answer
 * (`redis-away`) or the close outlasted `graceMs` (`timed-out`: jobs in hand still waiting, on
 * PostgreSQL or a receiver as likely as on Redis). BullMQ's own `close()`
 * waits for ever while Redis is unreachable, even once it is back (it waits for an `end` event
 * that a reconnecting connection never emits, taskforcesh/bullmq#4656), and a queue's `quit`
 * waits behind commands held for the reconnection. So when Redis does not answer, or a graceful
 * close takes longer than `graceMs`, the connections are dropped at once: a job in hand is taken
 * over by another worker once its lock expires, and nothing else lives only in Redis.
 */
export async function closeBull(
  target: BullInstance,
  graceMs: number,
): Promise<'closed' | 'redis-away' | 'timed-out'> {
  const answers = await redisAnswers(target);
  if (answers && (await settlesWithin(target.close(), graceMs))) return 'closed';
  // Forcing the backend first: a graceful close in progress has not reached it yet, and a
  // forced close of the instance after it only stops the worker's loop.
  await target.getBackend().close(true);
  if (target instanceof Worker) target.close(true).catch(() => undefined);
  return answers ? 'timed-out' : 'redis-away';
}

/** Whether `work` settles (either way) within `ms`; it is left running if not. */
export function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** What a connection to Redis fails with while Redis is away, as opposed to a command's error. */
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
]);

function isConnectionError(error: Error): boolean {
  const { code } = error as { code?: unknown };
  return (
    (typeof code === 'string' && CONNECTION_ERRORS.has(code)) ||
    error.message === 'Connection is closed.'
  );
}

/**
 * Logs a Redis outage of a queue or worker once, and its end, instead of every failed
 * reconnection: ioredis retries by itself, and without an `error` listener BullMQ would print
 * each failure raw on stderr. Any other error is logged as it comes.
 */
export function logRedisOutages(
  target: {
    on(event: 'error', listener: (error: Error) => void): unknown;
    getBackend(): Pick<RedisQueueBackend, 'on'>;
  },
  logger: { warn(message: string): void; log(message: string): void },
  label: string,
): void {
  let down = false;
  target.on('error', (error: Error) => {
    if (!isConnectionError(error)) {
      logger.warn(`${label}: ${error.message}`);
      return;
    }
    if (!down) logger.warn(`${label}: Redis unreachable, retrying: ${error.message}`);
    down = true;
  });
  target.getBackend().on('ready', () => {
    if (down) logger.log(`${label}: Redis reachable again`);
    down = false;
  });
}
