import { randomUUID } from 'node:crypto';
import { queryRows, type SqlRunner } from './infrastructure/queryable';
import { subscriptionMatches, type WebhookFilters } from './webhook-matching';
import type { WebhookMessage, WebhookPayload } from './webhook-message';
import { webhookIdFor } from './webhook-secret';

/** Announced (on commit) whenever deliveries are created or re-opened; a hint, the pump also polls. */
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
  message_key: string;
  status: string;
}

/**
 * Fans messages out into `webhook_deliveries`, one row per matching subscription, inside the
 * caller's transaction: the deliveries commit with whatever caused them, or not at all
 * (SPEC §2: no dual write). The delivery pump then claims committed rows.
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
    const [pending] = await this.dispatchMany(runner, [message]);
    return pending;
  }

  /**
   * `dispatch` for many messages at once (a batch of alerts firing together): one read of the
   * subscriptions, one multi-row insert, one notification, whatever the number of messages.
   * Returns, per message, how many new deliveries will be attempted.
   */
  async dispatchMany(runner: SqlRunner, messages: readonly WebhookMessage[]): Promise<number[]> {
    if (messages.length === 0) return [];
    const now = this.clock();
    const onlyNamed = messages.every((message) => message.subscriptionIds);
    const candidates = await queryRows<CandidateRow>(
      runner,
      onlyNamed
        ? `SELECT id, event_types, filters, lead_times, enabled
           FROM webhook_subscriptions WHERE id = ANY($1::uuid[])`
        : 'SELECT id, event_types, filters, lead_times, enabled FROM webhook_subscriptions',
      onlyNamed ? [[...new Set(messages.flatMap((message) => message.subscriptionIds ?? []))]] : [],
    );
    const rows = { id: [] as string[], subscription: [] as string[], webhookId: [] as string[] };
    const status: string[] = [];
    const lastError: (string | null)[] = [];
    const messageIndex: number[] = [];
    for (const [index, message] of messages.entries()) {
      const named = message.subscriptionIds && new Set(message.subscriptionIds);
      for (const row of candidates) {
        const target = named
          ? named.has(row.id)
          : subscriptionMatches(
              { eventTypes: row.event_types, filters: row.filters, leadTimes: row.lead_times },
              message.type,
              message.match,
              this.options.defaultLeadTimes,
            );
        if (!target) continue;
        rows.id.push(randomUUID());
        rows.subscription.push(row.id);
        rows.webhookId.push(webhookIdFor(message.messageKey, row.id));
        status.push(row.enabled ? 'pending' : 'failed');
        lastError.push(row.enabled ? null : NOT_SENT_DISABLED);
        // 1-based, as `WITH ORDINALITY` counts.
        messageIndex.push(index + 1);
      }
    }
    const counts = messages.map(() => 0);
    if (rows.id.length === 0) return counts;

    // Each message's payload is sent once and joined to its rows, not repeated per subscription.
    const inserted = await queryRows<InsertedRow>(
      runner,
      `WITH m AS (
         SELECT * FROM unnest($4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])
           WITH ORDINALITY AS m (message_key, event_type, payload, deadline, n)
       )
       INSERT INTO webhook_deliveries
         (id, subscription_id, webhook_id, message_key, event_type, payload, deadline, status,
          last_error, run_started_at, next_attempt_at, created_at, updated_at)
       SELECT t.id, t.subscription_id, t.webhook_id, m.message_key, m.event_type, m.payload,
              m.deadline, t.status, t.last_error, $8, $8, $8, $8
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $9::text[], $10::text[], $11::int[])
         AS t (id, subscription_id, webhook_id, status, last_error, n)
       JOIN m ON m.n = t.n
       ON CONFLICT (subscription_id, webhook_id) DO NOTHING
       RETURNING message_key, status`,
      [
        rows.id,
        rows.subscription,
        rows.webhookId,
        messages.map((message) => message.messageKey),
        messages.map((message) => message.type),
        messages.map((message) =>
          JSON.stringify({
            type: message.type,
            timestamp: (message.occurredAt ?? now).toISOString(),
            data: message.data,
          } satisfies WebhookPayload),
        ),
        messages.map((message) => message.deadline ?? null),
        now,
        status,
        lastError,
        messageIndex,
      ],
    );
    const byKey = new Map<string, number>();
    for (const row of inserted) {
      if (row.status === 'pending')
        byKey.set(row.message_key, (byKey.get(row.message_key) ?? 0) + 1);
    }
    if (byKey.size > 0) await notifyDeliveries(runner);
    // Two messages with one key share one set of rows: count them once, on the first.
    const counted = new Set<string>();
    return messages.map((message) => {
      if (counted.has(message.messageKey)) return 0;
      counted.add(message.messageKey);
      return byKey.get(message.messageKey) ?? 0;
    });
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
