import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { inTransaction } from './infrastructure/webhook.repository';
import type { WebhookFormat } from './webhook-subscription';
import { renderBody } from './webhook-body';
import { NOT_SENT_DISABLED } from './webhook-dispatcher';
import type { WebhookHttpClient, WebhookHttpResult } from './webhook-http-client';
import type { WebhookPayload } from './webhook-message';
import type { WebhookMetrics } from './webhook-metrics';
import { nextAttemptAt, parseRetryAfter, type RetryPolicy } from './webhook-retry-policy';
import { signWebhook } from './webhook-signature';

export interface WebhookDelivererOptions {
  retry: RetryPolicy;
  /** Consecutive failed attempts after which the subscription is disabled. */
  disableAfterFailures: number;
  /**
   * How long a claimed delivery stays reserved for the worker that claimed it. Longer than an
   * attempt may take (the HTTP timeout) plus the time to write its outcome: a worker that dies
   * mid-send leaves the delivery to be claimed again once this runs out.
   */
  leaseMs?: number;
  clock?: () => Date;
  random?: () => number;
}

/** What an attempt came to, for the caller (the pump logs nothing of it; tests read it). */
export type DeliveryOutcome =
  /** Nothing to do: already delivered, cancelled, failed or gone (a stale or repeated call). */
  | { kind: 'fenced'; status: string }
  /** Not due yet (or being attempted by another worker): due again at `at`. */
  | { kind: 'early'; at: Date }
  | { kind: 'succeeded'; statusCode: number }
  | { kind: 'retry'; at: Date; reason: string }
  /** Given up: permanently, or until a retry, a replay or re-enabling by hand. */
  | { kind: 'failed'; reason: string };

/** A delivery claimed for one attempt, with what signing and sending it needs. */
export interface ClaimedDelivery {
  id: string;
  next_attempt_at: Date;
  subscription_id: string;
  webhook_id: string;
  message_key: string;
  created_at: Date;
  /** The stored `{ type, timestamp, data }` as JSON text, parsed only when not rendered yet. */
  payload: string;
  deadline: Date | null;
  attempts: number;
  run_attempts: number;
  run_started_at: Date;
  claimed_by: string;
  url: string;
  format: WebhookFormat;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

/** One attempt (or a decision not to send) and the row changes it calls for. */
export interface AttemptResult {
  delivery: ClaimedDelivery;
  outcome: Exclude<DeliveryOutcome, { kind: 'fenced' } | { kind: 'early' }>;
  /** Absent when nothing was sent (the subscription is disabled). */
  http?: WebhookHttpResult;
  /** When the attempt ended. */
  at: Date;
  /** The HTTP status to keep on the row, and the error (null on success). */
  statusCode: number | null;
  error: string | null;
}

export interface ClaimRequest {
  /** At most this many deliveries. */
  limit: number;
  /** At most this many per subscription (those in `busy` have that many fewer). */
  perSubscription: number;
  /** Subscriptions that already have attempts in flight in this worker, and how many. */
  busy?: ReadonlyMap<string, number>;
  /**
   * Per subscription, the last delivery this worker claimed: the claim resumes after it instead
   * of walking again past rows it holds or has just finished (their index entries stay until
   * vacuumed). Rows left behind (a lease run out, a row committed late) are found once the
   * caller starts from the beginning again.
   */
  after?: ReadonlyMap<string, ClaimCursor>;
}

export interface ClaimCursor {
  at: Date;
  id: string;
}

const USER_AGENT = 'Accord-Webhooks/1.0';
/** `deliver(id)` may take a delivery this much before its time (timer granularity). */
const EARLY_SLACK_MS = 1000;
const DEFAULT_LEASE_MS = 30_000;
/** Rendered bodies kept per (message, format): a message goes to many subscriptions at once. */
const BODY_CACHE_SIZE = 2000;

const CLAIMED_COLUMNS = `d.id, d.next_attempt_at, d.subscription_id, d.webhook_id, d.message_key, d.created_at,
  d.payload, d.deadline, d.attempts, d.run_attempts, d.run_started_at, d.claimed_by, s.url,
  s.format, s.enabled, s.secret, s.previous_secret, s.previous_secret_expires_at`;

/**
 * The claimed rows, each message's payload sent once: its deliveries to other subscriptions
 * (same key, dispatched at the same instant, hence the same payload) borrow it in `withPayloads`.
 */
const CLAIMED_OUTPUT = `SELECT id, next_attempt_at, subscription_id, webhook_id, message_key, created_at, deadline, attempts,
    run_attempts, run_started_at, claimed_by, url, format, enabled, secret, previous_secret,
    previous_secret_expires_at,
    CASE WHEN row_number() OVER (PARTITION BY message_key, created_at) = 1
         THEN payload::text END AS payload
  FROM claimed`;

/**
 * Attempts deliveries (Standard Webhooks) in batches, PostgreSQL being the only queue:
 *
 * - `claim` takes due deliveries in one statement — `FOR UPDATE SKIP LOCKED`, so workers never
 *   take the same row, with a cap per subscription so that one slow endpoint never holds the
 *   others — and leases them (`claimed_by`, `claimed_until`) instead of changing their status,
 *   so that the claim writes no index entry.
 * - `attempt` signs (a fresh `webhook-timestamp` each time; two signatures during a rotation's
 *   grace period) and POSTs one of them, and decides what comes next: success, a retry time
 *   (exponential backoff with jitter, `Retry-After`, compressed before a deadline), or giving up
 *   (410, a refused address, the retry window spent, the subscription disabled).
 * - `record` writes the outcomes of many attempts in one statement: the attempt log, the rows
 *   (only those still under the same claim), and the subscriptions' failure runs, disabling
 *   those that answered 410 or failed too often.
 *
 * A worker killed between claim and record leaves leases that run out; the deliveries are then
 * claimed again and sent again with their webhook-id (at least once, never lost).
 */
export class WebhookDeliverer {
  private readonly logger = new Logger('WebhookDeliverer');
  private readonly clock: () => Date;
  private readonly leaseMs: number;
  private readonly bodies = new Map<string, { body: string; contentType: string }>();

  constructor(
    private readonly pool: Pool,
    private readonly http: WebhookHttpClient,
    private readonly metrics: WebhookMetrics,
    private readonly options: WebhookDelivererOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  /** One attempt of one delivery, now (the tests' entry point; the pump works in batches). */
  async deliver(deliveryId: string): Promise<DeliveryOutcome> {
    const now = this.clock();
    const claimId = randomUUID();
    const { rows } = await this.pool.query<ClaimedDelivery>(
      `WITH picked AS (
         SELECT id FROM webhook_deliveries
          WHERE id = $1 AND status IN ('pending', 'delivering') AND next_attempt_at <= $3
            AND (claimed_until IS NULL OR claimed_until <= $2)
          FOR UPDATE SKIP LOCKED
       ), claimed AS (
         UPDATE webhook_deliveries d SET claimed_by = $4, claimed_until = $5
           FROM picked, webhook_subscriptions s
          WHERE d.id = picked.id AND s.id = d.subscription_id
         RETURNING ${CLAIMED_COLUMNS}
       )
       ${CLAIMED_OUTPUT}`,
      [
        deliveryId,
        now,
        new Date(now.getTime() + EARLY_SLACK_MS),
        claimId,
        new Date(now.getTime() + this.leaseMs),
      ],
    );
    const delivery = withPayloads(rows)[0];
    if (!delivery) return this.whyNot(deliveryId);
    const result = await this.attempt(delivery);
    await this.record([result]);
    return result.outcome;
  }

  /** Claims due deliveries for one batch of attempts; see the class comment. */
  async claim(request: ClaimRequest): Promise<ClaimedDelivery[]> {
    if (request.limit <= 0) return [];
    const now = this.clock();
    const busy = [...(request.busy ?? new Map<string, number>())];
    const after = [...(request.after ?? new Map<string, ClaimCursor>())];
    return inTransaction(this.pool, async (client) => {
      // Each subscription's due rows are to be walked in index order and left at its cap. On a
      // table a burst has just filled, before any statistics, the planner takes a bitmap scan
      // instead and sorts every due row of every subscription on each claim (tens of ms). A claim
      // lost in a database crash is harmless (the rows are just not leased): no WAL flush wait.
      await client.query(
        'SET LOCAL enable_bitmapscan = off; SET LOCAL jit = off; SET LOCAL synchronous_commit = off',
      );
      const { rows } = await client.query<ClaimedDelivery>(
        `WITH room AS (
           SELECT s.id, greatest($4 - coalesce(b.in_flight, 0), 0) AS room,
                  coalesce(c.after_at, '-infinity') AS after_at,
                  coalesce(c.after_id, '00000000-0000-0000-0000-000000000000') AS after_id
             FROM webhook_subscriptions s
             LEFT JOIN unnest($2::uuid[], $3::int[]) AS b (subscription_id, in_flight)
               ON b.subscription_id = s.id
             LEFT JOIN unnest($8::uuid[], $9::timestamptz[], $10::uuid[])
               AS c (subscription_id, after_at, after_id) ON c.subscription_id = s.id
            WHERE coalesce(b.in_flight, 0) < $4
            -- Shuffled, so that when the batch is full the same subscriptions do not always win.
            ORDER BY random()
         ), picked AS (
           SELECT due.id FROM room
            CROSS JOIN LATERAL (
              SELECT d.id FROM webhook_deliveries d
               WHERE d.subscription_id = room.id AND d.status IN ('pending', 'delivering')
                 AND d.next_attempt_at <= $1
                 AND (d.next_attempt_at, d.id) > (room.after_at, room.after_id)
                 AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
               ORDER BY d.next_attempt_at, d.id
               LIMIT room.room
               FOR UPDATE SKIP LOCKED
            ) due
            LIMIT $5
         ), claimed AS (
           UPDATE webhook_deliveries d SET claimed_by = $6, claimed_until = $7
             FROM picked, webhook_subscriptions s
            WHERE d.id = picked.id AND s.id = d.subscription_id
           RETURNING ${CLAIMED_COLUMNS}
         )
         ${CLAIMED_OUTPUT}`,
        [
          now,
          busy.map(([id]) => id),
          busy.map(([, count]) => count),
          request.perSubscription,
          request.limit,
          randomUUID(),
          new Date(now.getTime() + this.leaseMs),
          after.map(([id]) => id),
          after.map(([, cursor]) => cursor.at),
          after.map(([, cursor]) => cursor.id),
        ],
      );
      return withPayloads(rows);
    });
  }

  /** The earliest time a delivery not due now will be, if any (when to look again). */
  async nextDueAt(): Promise<Date | null> {
    const { rows } = await this.pool.query<{ at: Date | null }>(
      `SELECT min(next_attempt_at) AS at FROM webhook_deliveries
        WHERE status IN ('pending', 'delivering') AND next_attempt_at > $1`,
      [this.clock()],
    );
    return rows[0]?.at ?? null;
  }

  /** Signs and sends one claimed delivery (or not, if its subscription is disabled). */
  async attempt(delivery: ClaimedDelivery): Promise<AttemptResult> {
    if (!delivery.enabled) {
      this.metrics.failures.inc({ reason: 'disabled' });
      return {
        delivery,
        outcome: { kind: 'failed', reason: NOT_SENT_DISABLED },
        at: this.clock(),
        statusCode: null,
        error: NOT_SENT_DISABLED,
      };
    }
    const now = this.clock();
    const { body, contentType } = this.render(delivery);
    const secrets = [delivery.secret];
    if (
      delivery.previous_secret &&
      delivery.previous_secret_expires_at &&
      delivery.previous_secret_expires_at > now
    )
      secrets.push(delivery.previous_secret);
    const signed = signWebhook(
      secrets,
      delivery.webhook_id,
      Math.floor(now.getTime() / 1000),
      body,
    );
    const http = await this.http.post(
      delivery.url,
      { ...signed, 'content-type': contentType, 'user-agent': USER_AGENT },
      body,
    );
    return this.judge(delivery, http);
  }

  /**
   * Writes the outcomes of many attempts in one statement. A row is updated only if it is still
   * under the claim that produced the attempt (not cancelled meanwhile, not re-claimed after the
   * lease ran out); the attempt is logged either way, since it was made.
   */
  async record(results: readonly AttemptResult[]): Promise<void> {
    if (results.length === 0) return;
    const now = this.clock();
    const attempted = results.filter((result) => result.http);
    const runs = failureRuns(results);
    const { rows } = await this.pool.query<{ id: string; reason: string; gone: boolean }>(
      `WITH outcome AS (
         SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[],
                              $6::timestamptz[], $7::int[], $8::text[])
           AS o (id, claimed_by, status, attempts, run_attempts, next_attempt_at, status_code,
                 last_error)
       ), attempt AS (
         INSERT INTO webhook_attempts
           (delivery_id, attempted_at, status_code, latency_ms, error, response_body)
         SELECT * FROM unnest($9::uuid[], $10::timestamptz[], $11::int[], $12::int[], $13::text[],
                              $14::text[])
       ), delivery AS (
         UPDATE webhook_deliveries d
            SET status = o.status, attempts = o.attempts, run_attempts = o.run_attempts,
                next_attempt_at = coalesce(o.next_attempt_at, d.next_attempt_at),
                last_status_code = coalesce(o.status_code, d.last_status_code),
                last_error = o.last_error,
                delivered_at = CASE WHEN o.status = 'succeeded' THEN $15 ELSE d.delivered_at END,
                claimed_by = NULL, claimed_until = NULL, updated_at = $15
           FROM outcome o
          WHERE d.id = o.id AND d.claimed_by = o.claimed_by
            AND d.status IN ('pending', 'delivering')
       ), run AS (
         SELECT * FROM unnest($16::uuid[], $17::boolean[], $18::int[], $19::timestamptz[],
                              $20::boolean[], $21::text[])
           AS r (subscription_id, reset, failures, failing_since, gone, last_error)
       ), counted AS (
         SELECT p.id, p.enabled, r.gone, r.last_error, r.failures AS new_failures,
                CASE WHEN r.reset THEN r.failures
                     ELSE p.consecutive_failures + r.failures END AS failures,
                CASE WHEN r.reset THEN r.failing_since
                     ELSE coalesce(p.failing_since, r.failing_since) END AS failing_since
           FROM (SELECT id, enabled, consecutive_failures, failing_since
                   FROM webhook_subscriptions WHERE id = ANY($16::uuid[])
                  ORDER BY id FOR UPDATE) p
           JOIN run r ON r.subscription_id = p.id
       ), decided AS (
         SELECT c.*,
                CASE WHEN NOT c.enabled OR c.new_failures = 0 THEN NULL
                     WHEN c.gone THEN 'The endpoint answered 410 Gone: it asked not to be called again.'
                     WHEN c.failures >= $22 THEN format(
                       'Disabled after %s consecutive failed attempts; the last: %s',
                       c.failures, left(c.last_error, 300))
                END AS reason
           FROM counted c
       ), subscription AS (
         UPDATE webhook_subscriptions s
            SET consecutive_failures = x.failures, failing_since = x.failing_since,
                enabled = s.enabled AND x.reason IS NULL,
                disabled_reason = coalesce(x.reason, s.disabled_reason),
                disabled_at = CASE WHEN x.reason IS NULL THEN s.disabled_at ELSE $15 END,
                updated_at = CASE WHEN x.reason IS NULL THEN s.updated_at ELSE $15 END
           FROM decided x
          WHERE s.id = x.id AND (x.reason IS NOT NULL OR s.consecutive_failures <> x.failures
                 OR s.failing_since IS DISTINCT FROM x.failing_since)
          RETURNING s.id, x.reason, x.gone
       )
       SELECT id, reason, gone FROM subscription WHERE reason IS NOT NULL`,
      [
        results.map((result) => result.delivery.id),
        results.map((result) => result.delivery.claimed_by),
        results.map((result) => rowStatus(result.outcome)),
        results.map((result) => result.delivery.attempts + (result.http ? 1 : 0)),
        results.map((result) => result.delivery.run_attempts + (result.http ? 1 : 0)),
        results.map((result) => (result.outcome.kind === 'retry' ? result.outcome.at : null)),
        results.map((result) => result.statusCode),
        results.map((result) => result.error),
        attempted.map((result) => result.delivery.id),
        attempted.map((result) => new Date(result.at.getTime() - result.http!.latencyMs)),
        attempted.map((result) => result.statusCode),
        attempted.map((result) => result.http!.latencyMs),
        attempted.map((result) => result.error),
        attempted.map((result) => (result.http!.kind === 'response' ? result.http!.body : null)),
        now,
        runs.map((run) => run.subscriptionId),
        runs.map((run) => run.reset),
        runs.map((run) => run.failures),
        runs.map((run) => run.failingSince),
        runs.map((run) => run.gone),
        runs.map((run) => run.lastError),
        this.options.disableAfterFailures,
      ],
    );
    for (const row of rows) {
      this.metrics.disabled.inc({ reason: row.gone ? 'gone' : 'failures' });
      this.logger.warn(`Subscription ${row.id} disabled: ${row.reason}`);
    }
    for (const result of results) {
      if (result.outcome.kind === 'succeeded')
        this.metrics.deliveryLatency.observe(
          (result.at.getTime() - result.delivery.run_started_at.getTime()) / 1000,
        );
    }
  }

  /** What became of a delivery `deliver` could not claim. */
  private async whyNot(deliveryId: string): Promise<DeliveryOutcome> {
    const { rows } = await this.pool.query<{
      status: string;
      next_attempt_at: Date;
      claimed_until: Date | null;
    }>('SELECT status, next_attempt_at, claimed_until FROM webhook_deliveries WHERE id = $1', [
      deliveryId,
    ]);
    const row = rows[0];
    if (row && (row.status === 'pending' || row.status === 'delivering')) {
      const leased = row.claimed_until && row.claimed_until > this.clock();
      return { kind: 'early', at: leased ? row.claimed_until! : row.next_attempt_at };
    }
    return { kind: 'fenced', status: row?.status ?? 'deleted' };
  }

  /** The body in the subscription's format, rendered once per message and format. */
  private render(delivery: ClaimedDelivery): { body: string; contentType: string } {
    // By payload, not message key: a message dispatched again later may carry another timestamp.
    // CloudEvents carry the webhook-id in the body: one rendering per delivery.
    const key = delivery.format === 'standard' ? delivery.payload : undefined;
    const cached = key ? this.bodies.get(key) : undefined;
    if (cached) return cached;
    const rendered = renderBody(
      delivery.format,
      JSON.parse(delivery.payload) as WebhookPayload,
      delivery.webhook_id,
    );
    if (key) {
      if (this.bodies.size >= BODY_CACHE_SIZE) this.bodies.clear();
      this.bodies.set(key, rendered);
    }
    return rendered;
  }

  private judge(delivery: ClaimedDelivery, http: WebhookHttpResult): AttemptResult {
    const at = this.clock();
    const statusCode = http.kind === 'response' ? http.statusCode : null;
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const error =
      http.kind === 'error'
        ? http.error
        : success
          ? null
          : `HTTP ${http.statusCode}${http.body ? `: ${http.body.slice(0, 200)}` : ''}`;
    const label = success ? 'success' : 'failure';
    this.metrics.attempts.inc({ result: label });
    this.metrics.attemptDuration.observe({ result: label }, http.latencyMs / 1000);
    const base = { delivery, http, at, statusCode, error };
    if (success) return { ...base, outcome: { kind: 'succeeded', statusCode } };
    if (statusCode === 410) {
      this.metrics.failures.inc({ reason: 'gone' });
      return { ...base, outcome: { kind: 'failed', reason: 'The endpoint answered 410 Gone' } };
    }
    if (http.kind === 'error' && http.refused) {
      this.metrics.failures.inc({ reason: 'refused' });
      return { ...base, outcome: { kind: 'failed', reason: `Refused: ${http.error}` } };
    }
    const next = nextAttemptAt(this.options.retry, {
      now: at,
      runStartedAt: delivery.run_started_at,
      runAttempts: delivery.run_attempts + 1,
      retryAfterMs:
        http.kind === 'response' && (statusCode === 429 || statusCode === 503)
          ? parseRetryAfter(http.headers['retry-after'], at)
          : undefined,
      deadline: delivery.deadline,
      random: this.options.random,
    });
    if (next) return { ...base, outcome: { kind: 'retry', at: next, reason: error ?? 'failed' } };
    this.metrics.failures.inc({ reason: 'exhausted' });
    return {
      ...base,
      outcome: { kind: 'failed', reason: `Retries exhausted; last: ${error ?? 'failed'}` },
    };
  }
}

/** Gives each claimed row its message's payload, sent once per message (see CLAIMED_OUTPUT). */
function withPayloads(rows: ClaimedDelivery[]): ClaimedDelivery[] {
  const key = (row: ClaimedDelivery) => `${row.message_key}\u0000${row.created_at.getTime()}`;
  const payloads = new Map<string, string>();
  for (const row of rows) if (row.payload !== null) payloads.set(key(row), row.payload);
  for (const row of rows) row.payload ??= payloads.get(key(row))!;
  return rows;
}

/** The row's status after an outcome: a retry is pending again. */
function rowStatus(outcome: AttemptResult['outcome']): 'succeeded' | 'pending' | 'failed' {
  switch (outcome.kind) {
    case 'succeeded':
      return 'succeeded';
    case 'retry':
      return 'pending';
    case 'failed':
      return 'failed';
    default: {
      const unknown: never = outcome;
      throw new Error(`Unknown outcome ${JSON.stringify(unknown)}`);
    }
  }
}

interface FailureRun {
  subscriptionId: string;
  /** A success in the batch: the run restarts from the failures after the last one. */
  reset: boolean;
  /** Failed attempts to count (after the last success, if any). */
  failures: number;
  failingSince: Date | null;
  /** A 410 among those failures. */
  gone: boolean;
  lastError: string | null;
}

/**
 * Each subscription's run of consecutive failures as this batch changes it, attempts taken in
 * the order they ended. Deliveries not sent (subscription disabled) do not count.
 */
function failureRuns(results: readonly AttemptResult[]): FailureRun[] {
  const runs = new Map<string, FailureRun>();
  const ordered = results
    .filter((result) => result.http)
    .sort((a, b) => a.at.getTime() - b.at.getTime());
  for (const result of ordered) {
    const id = result.delivery.subscription_id;
    const run = runs.get(id) ?? {
      subscriptionId: id,
      reset: false,
      failures: 0,
      failingSince: null,
      gone: false,
      lastError: null,
    };
    if (result.outcome.kind === 'succeeded') {
      Object.assign(run, { reset: true, failures: 0, failingSince: null, gone: false });
    } else {
      run.failures += 1;
      run.failingSince ??= result.at;
      run.gone ||= result.statusCode === 410;
      run.lastError = result.error ?? 'failed';
    }
    runs.set(id, run);
  }
  return [...runs.values()];
}
