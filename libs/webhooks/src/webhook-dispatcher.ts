import { randomUUID } from 'node:crypto';
import { queryRows, type SqlRunner } from './infrastructure/queryable';
import { subscriptionMatches, type WebhookFilters } from './webhook-matching';
import type { WebhookMessage, WebhookPayload } from './webhook-message';
import { webhookIdFor } from './webhook-secret';

/** Announced (on commit) whenever deliveries are created or re-opened; a hint, the relay also polls. */
export const WEBHOOK_DELIVERIES_CHANNEL = 'accord_webhook_deliveries';

/** What a delivery that will never be attempted says, so that a replay can find it later. */
export const NOT_SENT_DISABLED = 'Not sent: the subscription was disabled';

export interface WebhookDispatcherOptions {
  /** Lead times of a subscription that names none (`ALERT_LEAD_TIMES`). */
  defaultLeadTimes: string[];
  clock?: () => Date;
}

interface CandidateRow {
  id: string;
  event_types: string[];
  filters: WebhookFilters;
  lead_times: string[];
  enabled: boolean;
}

interface InsertedRow {
  id: string;
  status: string;
}

/**
 * Fans a message out into `webhook_deliveries`, one row per matching subscription, inside the
 * caller's transaction: the deliveries commit with whatever caused them, or not at all
 * (SPEC §2: no dual write). The relay then hands committed rows to BullMQ.
 *
 * A disabled subscription gets its row too, marked failed and never attempted, so that
 * re-enabling it can replay what it missed.
 */
export class WebhookDispatcher {
  private readonly clock: () => Date;

  constructor(private readonly options: WebhookDispatcherOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Records one delivery per matching subscription; idempotent per (message key, subscription).
   * Returns how many new deliveries will be attempted.
   */
  async dispatch(runner: SqlRunner, message: WebhookMessage): Promise<number> {
    const now = this.clock();
    const candidates = await queryRows<CandidateRow>(
      runner,
      message.subscriptionIds
        ? `SELECT id, event_types, filters, lead_times, enabled
           FROM webhook_subscriptions WHERE id = ANY($1::uuid[])`
        : 'SELECT id, event_types, filters, lead_times, enabled FROM webhook_subscriptions',
      message.subscriptionIds ? [message.subscriptionIds] : [],
    );
    const targets = message.subscriptionIds
      ? candidates
      : candidates.filter((row) =>
          subscriptionMatches(
            { eventTypes: row.event_types, filters: row.filters, leadTimes: row.lead_times },
            message.type,
            message.match,
            this.options.defaultLeadTimes,
          ),
        );
    if (targets.length === 0) return 0;

    const payload: WebhookPayload = {
      type: message.type,
      timestamp: (message.occurredAt ?? now).toISOString(),
      data: message.data,
    };
    const inserted = await queryRows<InsertedRow>(
      runner,
      `INSERT INTO webhook_deliveries
         (id, subscription_id, webhook_id, message_key, event_type, payload, deadline, status,
          last_error, run_started_at, next_attempt_at, created_at, updated_at)
       SELECT t.id, t.subscription_id, t.webhook_id, $4, $5, $6::jsonb, $7, t.status,
              t.last_error, $8, $8, $8, $8
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $9::text[], $10::text[])
         AS t (id, subscription_id, webhook_id, status, last_error)
       ON CONFLICT (subscription_id, webhook_id) DO NOTHING
       RETURNING id, status`,
      [
        targets.map(() => randomUUID()),
        targets.map((row) => row.id),
        targets.map((row) => webhookIdFor(message.messageKey, row.id)),
        message.messageKey,
        message.type,
        JSON.stringify(payload),
        message.deadline ?? null,
        now,
        targets.map((row) => (row.enabled ? 'pending' : 'failed')),
        targets.map((row) => (row.enabled ? null : NOT_SENT_DISABLED)),
      ],
    );
    const pending = inserted.filter((row) => row.status === 'pending').length;
    if (pending > 0) await notifyDeliveries(runner);
    return pending;
  }

  /**
   * Cancels every delivery of a message that has not been sent yet (an alert made moot by an
   * extension). A delivery being attempted right now may still arrive. Returns how many.
   */
  async cancel(runner: SqlRunner, messageKey: string): Promise<number> {
    const rows = await queryRows<{ id: string }>(
      runner,
      `WITH cancelled AS (
         UPDATE webhook_deliveries
         SET status = 'cancelled', updated_at = $2, last_error = 'Cancelled: the message was withdrawn'
         WHERE message_key = $1 AND status IN ('pending', 'delivering')
         RETURNING id
       )
       SELECT id FROM cancelled`,
      [messageKey, this.clock()],
    );
    return rows.length;
  }
}

export async function notifyDeliveries(runner: SqlRunner): Promise<void> {
  await queryRows(runner, 'SELECT pg_notify($1, $2)', [WEBHOOK_DELIVERIES_CHANNEL, '']);
}
