import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Pool, QueryResultRow } from 'pg';
import type { Counter, Histogram } from 'prom-client';
import { plainArray } from './infrastructure/pg-arrays';
import type { PgQueryable } from './infrastructure/queryable';
import { inTransaction } from './infrastructure/webhook.repository';
import type { WebhookFormat } from './webhook-subscription';
import { renderBody } from './webhook-body';
import { NOT_SENT_DISABLED } from './webhook-dispatcher';
import type { WebhookHttpClient, WebhookHttpResult } from './webhook-http-client';
import type { WebhookPayload } from './webhook-message';
import type { WebhookMetrics } from './webhook-metrics';
import { nextAttemptAt, parseRetryAfter, type RetryPolicy } from './webhook-retry-policy';
import { signatureOf, WebhookSigningKeys } from './webhook-signature';

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

/**
 * A delivery claimed for one attempt, with what signing and sending it needs. Instants are epoch
 * milliseconds (`…_ms`): the claim sends them as numbers, which parse far faster than
 * timestamps, and most are never needed as dates.
 */
export interface ClaimedDelivery {
  id: string;
  next_attempt_ms: number;
  subscription_id: string;
  webhook_id: string;
  message_key: string;
  /**
   * The message's stored `{ type, timestamp, data }` as JSON text (`webhook_messages`, one per
   * message key), parsed only when not rendered yet.
   */
  payload: string;
  deadline_ms: number | null;
  attempts: number;
  run_attempts: number;
  run_started_ms: number;
  claimed_by: string;
  /**
   * Start the attempt before this, or leave the delivery to its lease (half of it): an attempt
   * started later might outlast the lease and be sent twice.
   */
  start_by_ms: number;
  url: string;
  format: WebhookFormat;
  enabled: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_ms: number | null;
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
  /**
   * Only the subscriptions of one lane of `count` (by a hash of their id): claims of different
   * lanes may run at once without either taking more than a subscription's cap.
   */
  lane?: { index: number; count: number };
}

export interface ClaimCursor {
  /** The delivery's `next_attempt_at`, epoch milliseconds. */
  at: number;
  id: string;
}

const USER_AGENT = 'Accord-Webhooks/1.0';
/**
 * What a claim runs under. Each subscription's due rows are to be walked in index order and left
 * at its cap: on a table a burst has just filled, before any statistics, the planner takes a
 * bitmap scan instead and sorts every due row of every subscription on each claim (tens of ms).
 * A claim lost in a database crash is harmless (the rows are just not leased): no WAL flush wait.
 */
const CLAIM_SETTINGS = ['enable_bitmapscan = off', 'jit = off', 'synchronous_commit = off'];
/** `deliver(id)` may take a delivery this much before its time (timer granularity). */
const EARLY_SLACK_MS = 1000;
const DEFAULT_LEASE_MS = 30_000;
/** Rendered bodies kept per (message, format): a message goes to many subscriptions at once. */
const BODY_CACHE_SIZE = 2000;

const CLAIMED_COLUMNS = `d.id, d.next_attempt_at, d.subscription_id, d.webhook_id, d.message_key,
  d.deadline, d.attempts, d.run_attempts, d.run_started_at, s.url, s.format,
  s.enabled, s.secret, s.previous_secret, s.previous_secret_expires_at`;

/**
 * The claimed rows; what a batch shares is sent once: each message's payload
 * (`webhook_messages`) with its first delivery, each subscription's URL, format, state and
 * secrets with its first. The others borrow them in `filledIn`. Instants as epoch milliseconds
 * (`float8`), the claim's id not at all (the caller has it).
 */
const CLAIMED_OUTPUT = `SELECT c.id, date_part('epoch', c.next_attempt_at) * 1000 AS next_attempt_ms,
    c.subscription_id, c.webhook_id, c.message_key,
    date_part('epoch', c.deadline) * 1000 AS deadline_ms, c.attempts, c.run_attempts,
    date_part('epoch', c.run_started_at) * 1000 AS run_started_ms,
    CASE WHEN c.first_of_subscription THEN c.url END AS url,
    CASE WHEN c.first_of_subscription THEN c.format END AS format,
    CASE WHEN c.first_of_subscription THEN c.enabled END AS enabled,
    CASE WHEN c.first_of_subscription THEN c.secret END AS secret,
    CASE WHEN c.first_of_subscription THEN c.previous_secret END AS previous_secret,
    CASE WHEN c.first_of_subscription
         THEN date_part('epoch', c.previous_secret_expires_at) * 1000
    END AS previous_secret_expires_ms,
    CASE WHEN c.first_of_message THEN (
      SELECT m.payload::text FROM webhook_messages m WHERE m.message_key = c.message_key)
    END AS payload,
    c.first_of_subscription
  FROM (SELECT claimed.*, row_number() OVER (PARTITION BY message_key) = 1 AS first_of_message,
               row_number() OVER (PARTITION BY subscription_id) = 1 AS first_of_subscription
          FROM claimed) c`;

/**
 * What the attempt log says of an attempt whose outcome was never written: its worker was killed
 * (or its outcome could not be stored) between sending, or perhaps just before, and recording.
 */
export const NO_OUTCOME_RECORDED =
  'No outcome recorded: the worker stopped before recording it; the delivery may have been sent.';

/**
 * The end of both claim statements, once `picked` holds the ids to claim and, for each, when its
 * last lease ran out if it had one (`lapsed_at`): a lease that was neither recorded nor given
 * back (`release`) is an attempt that was under way when its worker stopped. It is logged, in
 * the same statement, as an attempt without an outcome (`note`): begun when that lease was taken
 * (its end less `lease`, in ms: this deliverer's), over when it ran out, like an attempt given up
 * at a timeout, no status. It counts as an attempt, not as a failure of the subscription: nobody
 * knows whether it failed. A row with no lapsed lease, the usual case, costs nothing more: its
 * lease is written either way, and the log entry is not.
 */
function leaseTaken(claimBy: string, claimUntil: string, lease: string, note: string): string {
  return `unrecorded AS (
         INSERT INTO webhook_attempts
           (delivery_id, attempted_at, status_code, latency_ms, error, response_body)
         SELECT id, lapsed_at - make_interval(secs => ${lease}::int / 1000.0), NULL,
                ${lease}::int, ${note}::text, NULL
           FROM picked WHERE lapsed_at IS NOT NULL
       ), claimed AS (
         UPDATE webhook_deliveries d SET claimed_by = ${claimBy}, claimed_until = ${claimUntil},
                attempts = d.attempts + (picked.lapsed_at IS NOT NULL)::int,
                run_attempts = d.run_attempts + (picked.lapsed_at IS NOT NULL)::int,
                last_error = CASE WHEN picked.lapsed_at IS NULL THEN d.last_error
                                  ELSE ${note}::text END
           FROM picked, webhook_subscriptions s
          WHERE d.id = picked.id AND s.id = d.subscription_id
         RETURNING ${CLAIMED_COLUMNS}
       )
       ${CLAIMED_OUTPUT}`;
}

/** When a row's lease ran out, if it was left (not recorded, not released); see `leaseTaken`. */
const LAPSED_AT = 'CASE WHEN d.claimed_by IS NOT NULL THEN d.claimed_until END AS lapsed_at';

/** Claims due deliveries (see `claim`); its parameters are listed where it is run. */
const CLAIM_STATEMENT = `WITH room AS (
         SELECT s.id, greatest($4 - coalesce(b.in_flight, 0), 0) AS room,
                coalesce(c.after_at, '-infinity') AS after_at,
                coalesce(c.after_id, '00000000-0000-0000-0000-000000000000') AS after_id
           FROM webhook_subscriptions s
           LEFT JOIN unnest($2::uuid[], $3::int[]) AS b (subscription_id, in_flight)
             ON b.subscription_id = s.id
           LEFT JOIN (SELECT subscription_id, to_timestamp(after_ms / 1000) AS after_at, after_id
                        FROM unnest($8::uuid[], $9::float8[], $10::uuid[])
                          AS c (subscription_id, after_ms, after_id)) c
             ON c.subscription_id = s.id
          WHERE coalesce(b.in_flight, 0) < $4
            AND ($11::int = 1 OR (hashtext(s.id::text) & 2147483647) % $11::int = $12::int)
          -- The furthest behind first (its last claimed row the oldest; one without a cursor
          -- first of all), so that a burst to many subscriptions drains evenly instead of
          -- leaving a few with a long tail each; shuffled among equals, so that when the batch
          -- is full the same subscriptions do not always win.
          ORDER BY c.after_at NULLS FIRST, c.after_id NULLS FIRST, random()
       ), picked AS (
         SELECT due.id, due.lapsed_at FROM room
          CROSS JOIN LATERAL (
            SELECT d.id, ${LAPSED_AT} FROM webhook_deliveries d
             WHERE d.subscription_id = room.id AND d.status IN ('pending', 'delivering')
               AND d.next_attempt_at <= $1
               AND (d.next_attempt_at, d.id) > (room.after_at, room.after_id)
               AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
             ORDER BY d.next_attempt_at, d.id
             LIMIT room.room
             FOR UPDATE SKIP LOCKED
          ) due
          LIMIT $5
       ), ${leaseTaken('$6', '$7', '$13', '$14')}`;

/** Writes the outcomes of many attempts (see `record`). */
const RECORD_STATEMENT = `WITH outcome AS (
         SELECT o.id, o.status, o.sent, to_timestamp(o.next_attempt_ms / 1000) AS next_attempt_at,
                o.status_code, o.error, to_timestamp(o.attempted_ms / 1000) AS attempted_at,
                o.latency_ms, o.response_body, c.claimed_by
           FROM unnest($1::uuid[], $2::int[], $3::text[], $4::boolean[], $5::float8[],
                       $6::int[], $7::text[], $8::float8[], $9::int[], $10::text[])
             AS o (id, claim, status, sent, next_attempt_ms, status_code, error, attempted_ms,
                   latency_ms, response_body)
           JOIN unnest($11::uuid[]) WITH ORDINALITY AS c (claimed_by, n) ON c.n = o.claim
       ), attempt AS (
         INSERT INTO webhook_attempts
           (delivery_id, attempted_at, status_code, latency_ms, error, response_body)
         SELECT id, attempted_at, status_code, latency_ms, error, response_body
           FROM outcome WHERE sent
       ), delivery AS (
         UPDATE webhook_deliveries d
            SET status = o.status, attempts = d.attempts + o.sent::int,
                run_attempts = d.run_attempts + o.sent::int,
                next_attempt_at = coalesce(o.next_attempt_at, d.next_attempt_at),
                last_status_code = coalesce(o.status_code, d.last_status_code),
                -- A delivery not sent keeps the error of its last attempt, if it made one.
                last_error = CASE WHEN o.sent THEN o.error ELSE coalesce(d.last_error, o.error) END,
                delivered_at = CASE WHEN o.status = 'succeeded' THEN $12 ELSE d.delivered_at END,
                claimed_by = NULL, claimed_until = NULL, updated_at = $12
           FROM outcome o
          WHERE d.id = o.id AND d.claimed_by = o.claimed_by
            AND d.status IN ('pending', 'delivering')
       ), run AS (
         SELECT * FROM unnest($13::uuid[], $14::boolean[], $15::int[], $16::timestamptz[],
                              $17::boolean[], $18::text[])
           AS r (subscription_id, reset, failures, failing_since, gone, last_error)
       ), counted AS (
         SELECT p.id, p.enabled, r.gone, r.last_error, r.failures AS new_failures,
                CASE WHEN r.reset THEN r.failures
                     ELSE p.consecutive_failures + r.failures END AS failures,
                CASE WHEN r.reset THEN r.failing_since
                     ELSE coalesce(p.failing_since, r.failing_since) END AS failing_since
           FROM (SELECT id, enabled, consecutive_failures, failing_since
                   FROM webhook_subscriptions WHERE id = ANY($13::uuid[])
                  ORDER BY id FOR NO KEY UPDATE) p
           JOIN run r ON r.subscription_id = p.id
       ), decided AS (
         SELECT c.*,
                CASE WHEN NOT c.enabled OR c.new_failures = 0 THEN NULL
                     WHEN c.gone THEN 'The endpoint answered 410 Gone: it asked not to be called again.'
                     WHEN c.failures >= $19 THEN format(
                       'Disabled after %s consecutive failed attempts; the last: %s',
                       c.failures, left(c.last_error, 300))
                END AS reason
           FROM counted c
       ), subscription AS (
         UPDATE webhook_subscriptions s
            SET consecutive_failures = x.failures, failing_since = x.failing_since,
                enabled = s.enabled AND x.reason IS NULL,
                disabled_reason = coalesce(x.reason, s.disabled_reason),
                disabled_at = CASE WHEN x.reason IS NULL THEN s.disabled_at ELSE $12 END,
                updated_at = CASE WHEN x.reason IS NULL THEN s.updated_at ELSE $12 END,
                version = s.version + (x.reason IS NOT NULL)::int
           FROM decided x
          WHERE s.id = x.id AND (x.reason IS NOT NULL OR s.consecutive_failures <> x.failures
                 OR s.failing_since IS DISTINCT FROM x.failing_since)
          RETURNING s.id, x.reason, x.gone
       )
       SELECT id, reason, gone FROM subscription WHERE reason IS NOT NULL`;

/** A pool or client that runs named (prepared once per connection) statements. */
interface NamedQueryable {
  query<R extends QueryResultRow>(config: {
    name: string;
    text: string;
    values: unknown[];
  }): Promise<{ rows: R[] }>;
}

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
 * claimed again and sent again with their webhook-id (at least once, never lost), and the claim
 * that takes one over logs the attempt that went unrecorded (`NO_OUTCOME_RECORDED`). Deliveries
 * claimed and then not attempted are given back (`release`), so that they are not taken for one.
 */
export class WebhookDeliverer {
  private readonly logger = new Logger('WebhookDeliverer');
  private readonly clock: () => Date;
  private readonly leaseMs: number;
  private readonly bodies = new Map<string, RenderedBody>();
  private readonly keys = new WebhookSigningKeys();
  private readonly attemptCounters: Record<'success' | 'failure', Counter.Internal>;
  private readonly attemptDurations: Record<'success' | 'failure', Histogram.Internal<'result'>>;

  constructor(
    private readonly pool: Pool,
    private readonly http: WebhookHttpClient,
    private readonly metrics: WebhookMetrics,
    private readonly options: WebhookDelivererOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    // Labelled once: a label set looked up per attempt is a hash of it each time.
    this.attemptCounters = {
      success: metrics.attempts.labels({ result: 'success' }),
      failure: metrics.attempts.labels({ result: 'failure' }),
    };
    this.attemptDurations = {
      success: metrics.attemptDuration.labels({ result: 'success' }),
      failure: metrics.attemptDuration.labels({ result: 'failure' }),
    };
  }

  /** One attempt of one delivery, now (the tests' entry point; the pump works in batches). */
  async deliver(deliveryId: string): Promise<DeliveryOutcome> {
    const now = this.clock();
    const claimId = randomUUID();
    const { rows } = await this.pool.query<ClaimedRow>(
      `WITH picked AS (
         SELECT d.id, ${LAPSED_AT} FROM webhook_deliveries d
          WHERE d.id = $1 AND d.status IN ('pending', 'delivering') AND d.next_attempt_at <= $3
            AND (d.claimed_until IS NULL OR d.claimed_until <= $2)
          FOR UPDATE SKIP LOCKED
       ), ${leaseTaken('$4', '$5', '$6', '$7')}`,
      [
        deliveryId,
        now,
        new Date(now.getTime() + EARLY_SLACK_MS),
        claimId,
        new Date(now.getTime() + this.leaseMs),
        this.leaseMs,
        NO_OUTCOME_RECORDED,
      ],
    );
    const delivery = filledIn(rows, claimId, now.getTime() + this.leaseMs / 2)[0];
    if (!delivery) return this.whyNot(deliveryId);
    const result = await this.attempt(delivery);
    await this.record([result]);
    return result.outcome;
  }

  /**
   * Readies a connection of the caller's own for `claim` (the pump keeps one): the settings a
   * claim needs, set once for the session, so that a claim is one statement and one round trip
   * instead of a transaction of four.
   */
  async prepareClaimConnection(connection: PgQueryable): Promise<void> {
    await connection.query(`SET ${CLAIM_SETTINGS.join('; SET ')}`);
  }

  /**
   * Claims due deliveries for one batch of attempts; see the class comment. On `connection`
   * (readied by `prepareClaimConnection`) if given, else in a transaction of the pool's.
   */
  async claim(request: ClaimRequest, connection?: PgQueryable): Promise<ClaimedDelivery[]> {
    if (request.limit <= 0) return [];
    if (connection) return this.claimOn(connection, request);
    return inTransaction(this.pool, async (client) => {
      await client.query(`SET LOCAL ${CLAIM_SETTINGS.join('; SET LOCAL ')}`);
      return this.claimOn(client, request);
    });
  }

  private async claimOn(runner: PgQueryable, request: ClaimRequest): Promise<ClaimedDelivery[]> {
    const now = this.clock();
    const busy = [...(request.busy ?? new Map<string, number>())];
    const after = [...(request.after ?? new Map<string, ClaimCursor>())];
    const claimId = randomUUID();
    // A named statement: parsed once per connection, not on every claim.
    const { rows } = await (runner as unknown as NamedQueryable).query<ClaimedRow>({
      name: 'accord-webhook-claim',
      text: CLAIM_STATEMENT,
      values: [
        now,
        plainArray(busy.map(([id]) => id)),
        plainArray(busy.map(([, count]) => count)),
        request.perSubscription,
        request.limit,
        claimId,
        new Date(now.getTime() + this.leaseMs),
        plainArray(after.map(([id]) => id)),
        plainArray(after.map(([, cursor]) => cursor.at)),
        plainArray(after.map(([, cursor]) => cursor.id)),
        request.lane?.count ?? 1,
        request.lane?.index ?? 0,
        this.leaseMs,
        NO_OUTCOME_RECORDED,
      ],
    });
    return filledIn(rows, claimId, now.getTime() + this.leaseMs / 2);
  }

  /**
   * Gives back deliveries claimed and not attempted (the pump let them go): claimable again at
   * once, and, nothing having been sent, not logged by the next claim as an attempt without an
   * outcome, as a lease left to run out would be. Only rows still under the same claim.
   */
  async release(
    deliveries: ReadonlyArray<Pick<ClaimedDelivery, 'id' | 'claimed_by'>>,
  ): Promise<void> {
    if (deliveries.length === 0) return;
    await this.pool.query(
      `UPDATE webhook_deliveries d SET claimed_by = NULL, claimed_until = NULL
         FROM unnest($1::uuid[], $2::uuid[]) AS r (id, claimed_by)
        WHERE d.id = r.id AND d.claimed_by = r.claimed_by`,
      [
        plainArray(deliveries.map((delivery) => delivery.id)),
        plainArray(deliveries.map((delivery) => delivery.claimed_by)),
      ],
    );
  }

  /** The earliest time a delivery not due now will be, if any (when to look again). */
  async nextDueAt(connection: PgQueryable = this.pool): Promise<Date | null> {
    // Each subscription's first in its due index: no index over every open delivery to keep.
    const { rows } = await connection.query<{ at: Date | null }>(
      `SELECT min(d.next_attempt_at) AS at FROM webhook_subscriptions s
        CROSS JOIN LATERAL (
          SELECT next_attempt_at FROM webhook_deliveries
           WHERE subscription_id = s.id AND status IN ('pending', 'delivering')
             AND next_attempt_at > $1
           ORDER BY next_attempt_at LIMIT 1
        ) d`,
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
    const now = this.clock().getTime();
    const { body, contentType } = this.render(delivery);
    const keys = [this.keys.get(delivery.secret)];
    if (
      delivery.previous_secret &&
      delivery.previous_secret_expires_ms !== null &&
      delivery.previous_secret_expires_ms > now
    )
      keys.push(this.keys.get(delivery.previous_secret));
    const timestamp = Math.floor(now / 1000);
    const http = await this.http.post(
      delivery.url,
      {
        'webhook-id': delivery.webhook_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signatureOf(keys, delivery.webhook_id, timestamp, body),
        'content-type': contentType,
        'user-agent': USER_AGENT,
      },
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
    const runs = failureRuns(results);
    // Few claims per batch: each row names its claim by position, not by a repeated uuid.
    const claims = [...new Set(results.map((result) => result.delivery.claimed_by))];
    // Rows whose attempt was made (`sent`) count it and log it; a delivery not sent (its
    // subscription disabled) only changes status. Under the claim, `d.attempts` is the count
    // the attempt was made with.
    const { rows } = await (this.pool as unknown as NamedQueryable).query<{
      id: string;
      reason: string;
      gone: boolean;
    }>({
      name: 'accord-webhook-record',
      text: RECORD_STATEMENT,
      // Uuids, words and numbers as array literals built here (instants as epoch ms), sparing
      // node-postgres escaping every element; free text as arrays it escapes.
      values: [
        plainArray(results.map((result) => result.delivery.id)),
        plainArray(results.map((result) => claims.indexOf(result.delivery.claimed_by) + 1)),
        plainArray(results.map((result) => rowStatus(result.outcome))),
        plainArray(results.map((result) => result.http !== undefined)),
        plainArray(
          results.map((result) =>
            result.outcome.kind === 'retry' ? result.outcome.at.getTime() : null,
          ),
        ),
        plainArray(results.map((result) => result.statusCode)),
        results.map((result) => result.error),
        plainArray(
          results.map((result) =>
            result.http ? result.at.getTime() - result.http.latencyMs : null,
          ),
        ),
        plainArray(results.map((result) => result.http?.latencyMs ?? null)),
        results.map((result) => (result.http?.kind === 'response' ? result.http.body : null)),
        plainArray(claims),
        now,
        runs.map((run) => run.subscriptionId),
        runs.map((run) => run.reset),
        runs.map((run) => run.failures),
        runs.map((run) => run.failingSince),
        runs.map((run) => run.gone),
        runs.map((run) => run.lastError),
        this.options.disableAfterFailures,
      ],
    });
    for (const row of rows) {
      this.metrics.disabled.inc({ reason: row.gone ? 'gone' : 'failures' });
      this.logger.warn(`Subscription ${row.id} disabled: ${row.reason}`);
    }
    for (const result of results) {
      if (result.outcome.kind === 'succeeded')
        this.metrics.deliveryLatency.observe(
          (result.at.getTime() - result.delivery.run_started_ms) / 1000,
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

  /**
   * The body in the subscription's format, rendered and encoded once per message and format:
   * the same bytes are signed and sent by every attempt.
   */
  private render(delivery: ClaimedDelivery): RenderedBody {
    // A message key has one stored payload. CloudEvents carry the webhook-id in the body: one
    // rendering per delivery.
    const key = delivery.format === 'standard' ? delivery.message_key : undefined;
    const cached = key ? this.bodies.get(key) : undefined;
    if (cached) return cached;
    const text = renderBody(
      delivery.format,
      JSON.parse(delivery.payload) as WebhookPayload,
      delivery.webhook_id,
    );
    const rendered = { body: Buffer.from(text.body), contentType: text.contentType };
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
    this.attemptCounters[label].inc();
    this.attemptDurations[label].observe(http.latencyMs / 1000);
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
      runStartedAt: new Date(delivery.run_started_ms),
      runAttempts: delivery.run_attempts + 1,
      retryAfterMs:
        http.kind === 'response' && (statusCode === 429 || statusCode === 503)
          ? parseRetryAfter(http.headers['retry-after'], at)
          : undefined,
      deadline: delivery.deadline_ms === null ? null : new Date(delivery.deadline_ms),
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

type ClaimedRow = Omit<ClaimedDelivery, 'claimed_by' | 'start_by_ms'> & {
  first_of_subscription?: boolean;
};

interface RenderedBody {
  body: Buffer;
  contentType: string;
}

/**
 * Gives each claimed row its message's payload and its subscription's columns, sent once per
 * batch (see CLAIMED_OUTPUT), its claim and its start-by time: the rows become the deliveries
 * (filled in place, no copy).
 */
function filledIn(rows: ClaimedRow[], claimId: string, startBy: number): ClaimedDelivery[] {
  const payloads = new Map<string, string>();
  const subscriptions = new Map<string, ClaimedRow>();
  for (const row of rows) {
    if (row.payload !== null) payloads.set(row.message_key, row.payload);
    if (row.first_of_subscription) subscriptions.set(row.subscription_id, row);
  }
  const deliveries = rows as Array<ClaimedRow & Partial<ClaimedDelivery>>;
  for (const row of deliveries) {
    row.claimed_by = claimId;
    row.start_by_ms = startBy;
    if (row.payload === null) row.payload = payloads.get(row.message_key)!;
    if (row.first_of_subscription) continue;
    const subscription = subscriptions.get(row.subscription_id)!;
    row.url = subscription.url;
    row.format = subscription.format;
    row.enabled = subscription.enabled;
    row.secret = subscription.secret;
    row.previous_secret = subscription.previous_secret;
    row.previous_secret_expires_ms = subscription.previous_secret_expires_ms;
  }
  return deliveries as ClaimedDelivery[];
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
