/** How a failing delivery is retried (SPEC §3); the worker builds it from the configuration. */
export interface RetryPolicy {
  /** The first retry waits about this long; each next one about twice as long. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retries stop this long after the run's first attempt (at least a day by default). */
  windowMs: number;
}

export interface RetryInput {
  now: Date;
  /** When the current run began: the delivery's creation, or a retry or replay by hand. */
  runStartedAt: Date;
  /** Attempts made in this run, the failed one included. */
  runAttempts: number;
  /** The receiver's `Retry-After`, in milliseconds, if it sent one. */
  retryAfterMs?: number;
  /** Retries are compressed to finish before this instant where possible (an expiry). */
  deadline?: Date | null;
  /** [0, 1); injected so that tests can pin the jitter. */
  random?: () => number;
}

/** Before a deadline retries come at most this close together. */
const MIN_COMPRESSED_DELAY_MS = 1000;

/**
 * When to try again, or null to give up. Exponential backoff with "equal jitter" (half fixed,
 * half random, so retries of many deliveries spread out without ever collapsing to zero). Before
 * a deadline the wait is at most half the time left, so the attempts crowd in before it instead
 * of after.
 *
 * A `Retry-After` is a lower bound, not a replacement (RFC 9110 §10.2.3: how long the client
 * "ought to wait" at least; it may wait longer): the wait is the longer of the receiver's and the
 * policy's own, up to the maximum delay. So `Retry-After: 0`, or a date already past, is no
 * licence to hammer an endpoint: without the floor a receiver answering 429 with it would get a
 * run of `WEBHOOK_DISABLE_AFTER_FAILURES` attempts within seconds and be disabled. A
 * `Retry-After` longer than the time to a deadline is honoured too (sending sooner would only be
 * refused again).
 */
export function nextAttemptAt(policy: RetryPolicy, input: RetryInput): Date | null {
  const now = input.now.getTime();
  if (now - input.runStartedAt.getTime() >= policy.windowMs) return null;
  const random = input.random ?? Math.random;
  const exponent = Math.min(Math.max(input.runAttempts - 1, 0), 40);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  let delay = ceiling / 2 + random() * (ceiling / 2);
  const deadline = input.deadline?.getTime();
  if (deadline !== undefined && deadline > now) {
    // Half the time left each time, but never closer together than a second.
    delay = Math.min(delay, Math.max((deadline - now) / 2, MIN_COMPRESSED_DELAY_MS));
  }
  if (input.retryAfterMs !== undefined)
    delay = Math.max(delay, Math.min(input.retryAfterMs, policy.maxDelayMs));
  return new Date(now + Math.round(delay));
}

/** `Retry-After` as delay-seconds or an HTTP-date, in milliseconds from `now`; undefined if absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}
