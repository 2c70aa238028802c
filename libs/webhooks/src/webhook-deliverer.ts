import { Logger } from '@nestjs/common';
import type { Pool, PoolClient } from 'pg';
import {
  inTransaction,
  type DeliveryRow,
  type SubscriptionRow,
} from './infrastructure/webhook.repository';
import { renderBody } from './webhook-body';
import { NOT_SENT_DISABLED } from './webhook-dispatcher';
import type { WebhookHttpClient, WebhookHttpResult } from './webhook-http-client';
import type { WebhookMetrics } from './webhook-metrics';
import { nextAttemptAt, parseRetryAfter, type RetryPolicy } from './webhook-retry-policy';
import { signWebhook } from './webhook-signature';

export interface WebhookDelivererOptions {
  retry: RetryPolicy;
  /** Consecutive failed attempts after which the subscription is disabled. */
  disableAfterFailures: number;
  clock?: () => Date;
  random?: () => number;
}

/** What a delivery job comes to; the processor maps it onto BullMQ. */
export type DeliveryOutcome =
  /** Nothing to do: already delivered, cancelled, failed or gone (a stale or repeated job). */
  | { kind: 'fenced'; status: string }
  /** The job ran before the delivery is due (its row was rescheduled): run again then. */
  | { kind: 'early'; at: Date }
  | { kind: 'succeeded'; statusCode: number }
  | { kind: 'retry'; at: Date; reason: string }
  /** Given up: permanently, or until a retry, a replay or re-enabling by hand. */
  | { kind: 'failed'; reason: string };

const USER_AGENT = 'Accord-Webhooks/1.0';
/** A job may fire this much ahead of the row's time (timer granularity) and still count as due. */
const EARLY_SLACK_MS = 1000;

/**
 * Makes one attempt of one delivery: fenced on the row (only an open, due delivery is sent),
 * signed fresh (a new `webhook-timestamp` per attempt), logged in `webhook_attempts`, and
 * followed by the next step — success, a retry time, or giving up (410, refused address,
 * retries exhausted, subscription disabled). The row stays the truth: the outcome only tells
 * the queue what the row already says.
 */
export class WebhookDeliverer {
  private readonly logger = new Logger('WebhookDeliverer');
  private readonly clock: () => Date;

  constructor(
    private readonly pool: Pool,
    private readonly http: WebhookHttpClient,
    private readonly metrics: WebhookMetrics,
    private readonly options: WebhookDelivererOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  async deliver(deliveryId: string): Promise<DeliveryOutcome> {
    const now = this.clock();
    const claimed = await this.claim(deliveryId, now);
    if ('outcome' in claimed) return claimed.outcome;
    const { delivery, subscription } = claimed;

    if (!subscription.enabled) {
      await this.finish(delivery.id, now, 'failed', { lastError: NOT_SENT_DISABLED });
      this.metrics.failures.inc({ reason: 'disabled' });
      return { kind: 'failed', reason: NOT_SENT_DISABLED };
    }

    const { body, contentType } = renderBody(
      subscription.format,
      delivery.payload,
      delivery.webhook_id,
    );
    const secrets = [subscription.secret];
    if (
      subscription.previous_secret &&
      subscription.previous_secret_expires_at &&
      subscription.previous_secret_expires_at > now
    )
      secrets.push(subscription.previous_secret);
    const signed = signWebhook(
      secrets,
      delivery.webhook_id,
      Math.floor(now.getTime() / 1000),
      body,
    );
    const result = await this.http.post(
      subscription.url,
      { ...signed, 'content-type': contentType, 'user-agent': USER_AGENT },
      body,
    );
    return this.record(delivery, subscription, result);
  }

  /** Marks an open, due delivery as being attempted, or says why not. */
  private async claim(
    deliveryId: string,
    now: Date,
  ): Promise<
    { outcome: DeliveryOutcome } | { delivery: DeliveryRow; subscription: SubscriptionRow }
  > {
    const { rows } = await this.pool.query<DeliveryRow>(
      `UPDATE webhook_deliveries SET status = 'delivering', updated_at = $2
       WHERE id = $1 AND status IN ('pending', 'delivering') AND next_attempt_at <= $3
       RETURNING *`,
      [deliveryId, now, new Date(now.getTime() + EARLY_SLACK_MS)],
    );
    const delivery = rows[0];
    if (!delivery) {
      const current = await this.pool.query<Pick<DeliveryRow, 'status' | 'next_attempt_at'>>(
        'SELECT status, next_attempt_at FROM webhook_deliveries WHERE id = $1',
        [deliveryId],
      );
      const row = current.rows[0];
      if (row && (row.status === 'pending' || row.status === 'delivering'))
        return { outcome: { kind: 'early', at: row.next_attempt_at } };
      return { outcome: { kind: 'fenced', status: row?.status ?? 'deleted' } };
    }
    const subscriptions = await this.pool.query<SubscriptionRow>(
      'SELECT * FROM webhook_subscriptions WHERE id = $1',
      [delivery.subscription_id],
    );
    if (!subscriptions.rows[0]) return { outcome: { kind: 'fenced', status: 'deleted' } };
    return { delivery, subscription: subscriptions.rows[0] };
  }

  private async record(
    delivery: DeliveryRow,
    subscription: SubscriptionRow,
    result: WebhookHttpResult,
  ): Promise<DeliveryOutcome> {
    const now = this.clock();
    const statusCode = result.kind === 'response' ? result.statusCode : null;
    const success = statusCode !== null && statusCode >= 200 && statusCode < 300;
    const error =
      result.kind === 'error'
        ? result.error
        : success
          ? null
          : `HTTP ${result.statusCode}${result.body ? `: ${result.body.slice(0, 200)}` : ''}`;
    this.metrics.attempts.inc({ result: success ? 'success' : 'failure' });
    this.metrics.attemptDuration.observe(
      { result: success ? 'success' : 'failure' },
      result.latencyMs / 1000,
    );

    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms, error, response_body)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [
          delivery.id,
          new Date(now.getTime() - result.latencyMs),
          statusCode,
          result.latencyMs,
          error,
          result.kind === 'response' ? result.body : null,
        ],
      );
      const counts = { attempts: delivery.attempts + 1, runAttempts: delivery.run_attempts + 1 };

      if (success) {
        await this.finish(
          delivery.id,
          now,
          'succeeded',
          { ...counts, statusCode, lastError: null },
          client,
        );
        await client.query(
          `UPDATE webhook_subscriptions SET consecutive_failures = 0, failing_since = NULL
           WHERE id = $1 AND consecutive_failures <> 0`,
          [subscription.id],
        );
        this.metrics.deliveryLatency.observe(
          (now.getTime() - delivery.run_started_at.getTime()) / 1000,
        );
        return { kind: 'succeeded', statusCode };
      }

      const failures = await this.countFailure(
        client,
        subscription,
        now,
        statusCode,
        error ?? 'failed',
      );
      let outcome: DeliveryOutcome;
      if (statusCode === 410) {
        outcome = { kind: 'failed', reason: 'The endpoint answered 410 Gone' };
        this.metrics.failures.inc({ reason: 'gone' });
      } else if (result.kind === 'error' && result.refused) {
        outcome = { kind: 'failed', reason: `Refused: ${result.error}` };
        this.metrics.failures.inc({ reason: 'refused' });
      } else {
        const at = nextAttemptAt(this.options.retry, {
          now,
          runStartedAt: delivery.run_started_at,
          runAttempts: counts.runAttempts,
          retryAfterMs:
            result.kind === 'response' && (statusCode === 429 || statusCode === 503)
              ? parseRetryAfter(result.headers['retry-after'], now)
              : undefined,
          deadline: delivery.deadline,
          random: this.options.random,
        });
        outcome = at
          ? { kind: 'retry', at, reason: error ?? 'failed' }
          : { kind: 'failed', reason: `Retries exhausted; last: ${error ?? 'failed'}` };
        if (!at) this.metrics.failures.inc({ reason: 'exhausted' });
      }
      if (outcome.kind === 'retry') {
        await client.query(
          `UPDATE webhook_deliveries
           SET status = 'pending', attempts = $2, run_attempts = $3, next_attempt_at = $4,
               last_status_code = $5, last_error = $6, updated_at = $7
           WHERE id = $1 AND status = 'delivering'`,
          [delivery.id, counts.attempts, counts.runAttempts, outcome.at, statusCode, error, now],
        );
      } else if (outcome.kind === 'failed') {
        await this.finish(
          delivery.id,
          now,
          'failed',
          { ...counts, statusCode, lastError: error },
          client,
        );
      }
      if (failures.disabled)
        this.logger.warn(`Subscription ${subscription.id} disabled: ${failures.disabled}`);
      return outcome;
    });
  }

  /** Counts a failed attempt against the subscription; disables it on 410 or a long run of failures. */
  private async countFailure(
    client: PoolClient,
    subscription: SubscriptionRow,
    now: Date,
    statusCode: number | null,
    error: string,
  ): Promise<{ disabled: string | null }> {
    const { rows } = await client.query<{ consecutive_failures: number; enabled: boolean }>(
      `UPDATE webhook_subscriptions
       SET consecutive_failures = consecutive_failures + 1, failing_since = coalesce(failing_since, $2)
       WHERE id = $1
       RETURNING consecutive_failures, enabled`,
      [subscription.id, now],
    );
    const row = rows[0];
    if (!row?.enabled) return { disabled: null };
    let reason: string | null = null;
    let label = '';
    if (statusCode === 410) {
      reason = 'The endpoint answered 410 Gone: it asked not to be called again.';
      label = 'gone';
    } else if (row.consecutive_failures >= this.options.disableAfterFailures) {
      reason = `Disabled after ${row.consecutive_failures} consecutive failed attempts; the last: ${error.slice(0, 300)}`;
      label = 'failures';
    }
    if (!reason) return { disabled: null };
    await client.query(
      `UPDATE webhook_subscriptions
       SET enabled = false, disabled_reason = $2, disabled_at = $3, updated_at = $3
       WHERE id = $1 AND enabled`,
      [subscription.id, reason, now],
    );
    this.metrics.disabled.inc({ reason: label });
    return { disabled: reason };
  }

  private async finish(
    deliveryId: string,
    now: Date,
    status: 'succeeded' | 'failed',
    fields: {
      attempts?: number;
      runAttempts?: number;
      statusCode?: number | null;
      lastError: string | null;
    },
    client: Pick<PoolClient, 'query'> = this.pool,
  ): Promise<void> {
    await client.query(
      `UPDATE webhook_deliveries
       SET status = $2, attempts = coalesce($3, attempts), run_attempts = coalesce($4, run_attempts),
           last_status_code = coalesce($5, last_status_code), last_error = $6,
           delivered_at = CASE WHEN $2 = 'succeeded' THEN $7 ELSE delivered_at END, updated_at = $7
       WHERE id = $1 AND status = 'delivering'`,
      [
        deliveryId,
        status,
        fields.attempts ?? null,
        fields.runAttempts ?? null,
        fields.statusCode ?? null,
        fields.lastError,
        now,
      ],
    );
  }
}
