import { randomUUID } from 'node:crypto';
import { queryRows, type SqlRunner } from './infrastructure/queryable';
import { plainArray } from './infrastructure/pg-arrays';
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
}

interface InsertedRow {
  message_key: string;
  pending: number;
}

/**
 * Fans messages out into `webhook_deliveries`, one small row per matching subscription, the
 * message's payload stored once in `webhook_messages`, inside the caller's transaction: the
 * deliveries commit with whatever caused them, or not at all (SPEC §2: no dual write). The
 * delivery pump then claims committed rows.
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
    const { targeted, recipients } = await this.fanOut(runner, messages);
    // Rows name their message and subscription by position (1-based, as `WITH ORDINALITY`
    // counts): thousands of small integers travel and parse faster than as many uuids.
    const subscriptionIndex = new Map<string, number>();
    const rows = { id: [] as string[], subscription: [] as number[], message: [] as number[] };
    const newId = timeOrderedUuids(now);
    const webhookIds: string[] = [];
    for (const [index, message] of targeted.entries()) {
      for (const subscriptionId of recipients[index]) {
        let subscription = subscriptionIndex.get(subscriptionId);
        if (subscription === undefined) {
          subscription = subscriptionIndex.size + 1;
          subscriptionIndex.set(subscriptionId, subscription);
        }
        rows.id.push(newId());
        rows.subscription.push(subscription);
        rows.message.push(index + 1);
        webhookIds.push(webhookIdFor(message.messageKey, subscriptionId));
      }
    }
    const counts = messages.map(() => 0);
    if (rows.id.length === 0) return counts;

    // Each message's payload is stored once (`webhook_messages`; kept if the key is there
    // already) and its deliveries are small rows naming it by key. The subscriptions are locked
    // as a foreign key would lock them, but once each rather than once per row (`FOR KEY SHARE`:
    // a concurrent delete waits, or its rows are left out); a disabled one's rows are recorded
    // as failed, not sent.
    const inserted = await queryRows<InsertedRow>(
      runner,
      `WITH m AS (
         SELECT * FROM unnest($5::text[], $6::text[], $7::jsonb[], $8::timestamptz[])
           WITH ORDINALITY AS m (message_key, event_type, payload, deadline, n)
       ), stored AS (
         INSERT INTO webhook_messages (message_key, event_type, payload, created_at)
         SELECT message_key, event_type, payload, $9 FROM m
         ON CONFLICT (message_key) DO NOTHING
       ), locked AS (
         SELECT s.id, s.enabled, named.n
           FROM webhook_subscriptions s
           JOIN unnest($4::uuid[]) WITH ORDINALITY AS named (id, n) ON named.id = s.id
            FOR KEY SHARE OF s
       ), inserted AS (
         INSERT INTO webhook_deliveries
           (id, subscription_id, webhook_id, message_key, event_type, deadline, status,
            last_error, run_started_at, next_attempt_at, created_at, updated_at)
         SELECT t.id, s.id, t.webhook_id, m.message_key, m.event_type, m.deadline,
                CASE WHEN s.enabled THEN 'pending' ELSE 'failed' END,
                CASE WHEN s.enabled THEN NULL ELSE $10 END, $9, $9, $9, $9
           FROM unnest($1::uuid[], $2::int[], $3::int[], $11::text[])
             AS t (id, subscription, message, webhook_id)
           JOIN m ON m.n = t.message
           JOIN locked s ON s.n = t.subscription
         ON CONFLICT (message_key, subscription_id) DO NOTHING
         RETURNING message_key, status
       )
       SELECT message_key, count(*) FILTER (WHERE status = 'pending')::int AS pending
         FROM inserted GROUP BY message_key`,
      // Uuids, positions and webhook-ids (base64url) as array literals built here, sparing
      // node-postgres escaping each of thousands of elements.
      [
        plainArray(rows.id),
        plainArray(rows.subscription),
        plainArray(rows.message),
        plainArray([...subscriptionIndex.keys()]),
        targeted.map((message) => message.messageKey),
        targeted.map((message) => message.type),
        targeted.map((message) => payloadOf(message, now)),
        targeted.map((message) => message.deadline ?? null),
        now,
        NOT_SENT_DISABLED,
        plainArray(webhookIds),
      ],
    );
    const byKey = new Map<string, number>();
    for (const row of inserted) if (row.pending > 0) byKey.set(row.message_key, row.pending);
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
   * The outbox half of a dispatch, for a burst (a batch of alerts firing together): inside the
   * caller's transaction, stores each message once with the subscriptions it goes to
   * (`recipients`), chosen by the same rules as `dispatchMany`, and writes no delivery rows.
   * Committed, a staged message is as good as its deliveries: `expandStaged` writes them after
   * the commit — the caller does at once, and the delivery pump's sweep does for any that a
   * crash left staged. The firing transaction so commits one small row per message instead of
   * one per (message, subscription). Returns, per message, how many subscriptions it was staged
   * for (0 for a repeated key within the call).
   */
  async stageMany(runner: SqlRunner, messages: readonly WebhookMessage[]): Promise<number[]> {
    if (messages.length === 0) return [];
    const now = this.clock();
    const { targeted, recipients } = await this.fanOut(runner, messages);
    const staged = new Map<string, number>();
    if (targeted.length > 0) {
      // Staging a key again (a second dispatch of one message) adds its new recipients, as a
      // second `dispatchMany` would add their rows; the first payload stays.
      await queryRows(
        runner,
        `INSERT INTO webhook_messages
           (message_key, event_type, payload, deadline, recipients, created_at)
         SELECT message_key, event_type, payload, deadline, recipients::uuid[], $6
           FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::timestamptz[], $5::text[])
             AS m (message_key, event_type, payload, deadline, recipients)
         ON CONFLICT (message_key) DO UPDATE
           SET recipients = ARRAY(SELECT DISTINCT unnest(
                 coalesce(webhook_messages.recipients, '{}') || excluded.recipients)),
               deadline = excluded.deadline`,
        [
          targeted.map((message) => message.messageKey),
          targeted.map((message) => message.type),
          targeted.map((message) => payloadOf(message, now)),
          targeted.map((message) => message.deadline ?? null),
          recipients.map((ids) => plainArray(ids)),
          now,
        ],
      );
      for (const [index, message] of targeted.entries()) {
        staged.set(message.messageKey, recipients[index].length);
      }
    }
    const counted = new Set<string>();
    return messages.map((message) => {
      if (counted.has(message.messageKey)) return 0;
      counted.add(message.messageKey);
      return staged.get(message.messageKey) ?? 0;
    });
  }

  /**
   * Writes the deliveries of staged messages (see `stageMany`) in one statement, so on any
   * runner: the messages named by `keys`, or (a sweep) up to `limit` staged at or before
   * `stagedBefore`, oldest first. Rows are those `dispatchMany` would have written when the
   * message was staged: the same `webhook-id` (computed here in SQL, pinned by a test against
   * `webhookIdFor`), the staging instant as their creation and first attempt (what was due
   * when, for replays and the log), a disabled subscription's row failed and never attempted, a
   * deleted one's left out. Their `updated_at` is now: a subscription disabled between staging
   * and now, once re-enabled, reopens the rows marked failed since it was disabled.
   *
   * Messages another expansion holds are skipped, not waited for (it writes them), unless
   * `wait` is set: then this waits for it and finds them written. Returns, per message it
   * expanded, how many new deliveries will be attempted.
   */
  async expandStaged(
    runner: SqlRunner,
    select: { keys: readonly string[]; wait?: boolean } | { stagedBefore: Date; limit: number },
  ): Promise<Map<string, number>> {
    const byKeys = 'keys' in select;
    if (byKeys && select.keys.length === 0) return new Map();
    const rows = await queryRows<InsertedRow>(
      runner,
      `WITH staged AS (
         SELECT message_key, event_type, deadline, recipients, created_at
           FROM webhook_messages
          WHERE recipients IS NOT NULL
            AND ${byKeys ? 'message_key = ANY($1::text[])' : 'created_at <= $1'}
          ORDER BY created_at
          ${byKeys ? '' : 'LIMIT $2'}
          FOR UPDATE ${byKeys && select.wait ? '' : 'SKIP LOCKED'}
       ), expanded AS (
         UPDATE webhook_messages m SET recipients = NULL
           FROM staged WHERE m.message_key = staged.message_key
       ), targets AS (
         SELECT st.message_key, st.event_type, st.deadline, st.created_at, r.subscription_id,
                lpad(to_hex((extract(epoch FROM st.created_at) * 1000)::bigint), 12, '0') AS ms
           FROM staged st CROSS JOIN LATERAL unnest(st.recipients) AS r (subscription_id)
       ), locked AS (
         SELECT s.id, s.enabled FROM webhook_subscriptions s
          WHERE s.id IN (SELECT subscription_id FROM targets)
            FOR KEY SHARE OF s
       ), inserted AS (
         INSERT INTO webhook_deliveries
           (id, subscription_id, webhook_id, message_key, event_type, deadline, status,
            last_error, run_started_at, next_attempt_at, created_at, updated_at)
         SELECT (substr(t.ms, 1, 8) || '-' || substr(t.ms, 9, 4) || '-7'
                   || substr(gen_random_uuid()::text, 16))::uuid,
                s.id,
                'msg_' || left(translate(encode(sha256(convert_to(t.message_key, 'UTF8')
                  || '\\x00'::bytea || convert_to(s.id::text, 'UTF8')), 'base64'), '+/', '-_'), 24),
                t.message_key, t.event_type, t.deadline,
                CASE WHEN s.enabled THEN 'pending' ELSE 'failed' END,
                CASE WHEN s.enabled THEN NULL ELSE $${byKeys ? 2 : 3}::text END,
                t.created_at, t.created_at, t.created_at, $${byKeys ? 3 : 4}::timestamptz
           FROM targets t JOIN locked s ON s.id = t.subscription_id
         ON CONFLICT (message_key, subscription_id) DO NOTHING
         RETURNING message_key, status
       )
       SELECT st.message_key, count(i.message_key) FILTER (WHERE i.status = 'pending')::int AS pending
         FROM staged st LEFT JOIN inserted i USING (message_key)
        GROUP BY st.message_key`,
      byKeys
        ? [[...select.keys], NOT_SENT_DISABLED, this.clock()]
        : [select.stagedBefore, select.limit, NOT_SENT_DISABLED, this.clock()],
    );
    const pending = new Map(rows.map((row) => [row.message_key, row.pending]));
    if (rows.some((row) => row.pending > 0)) await notifyDeliveries(runner);
    return pending;
  }

  /**
   * The messages some subscription receives (each key once, the first wins, as
   * `ON CONFLICT DO NOTHING` would have it) and, for each, the ids of those subscriptions.
   */
  private async fanOut(
    runner: SqlRunner,
    messages: readonly WebhookMessage[],
  ): Promise<{ targeted: WebhookMessage[]; recipients: string[][] }> {
    const onlyNamed = messages.every((message) => message.subscriptionIds);
    const candidates = await queryRows<CandidateRow>(
      runner,
      onlyNamed
        ? `SELECT id, event_types, filters, lead_times
           FROM webhook_subscriptions WHERE id = ANY($1::uuid[])`
        : 'SELECT id, event_types, filters, lead_times FROM webhook_subscriptions',
      onlyNamed ? [[...new Set(messages.flatMap((message) => message.subscriptionIds ?? []))]] : [],
    );
    // One matching spec per subscription, not one per (message, subscription) pair.
    const specs = candidates.map((row) => ({
      eventTypes: row.event_types,
      filters: row.filters,
      leadTimes: row.lead_times,
    }));
    const targeted: WebhookMessage[] = [];
    const recipients: string[][] = [];
    const seen = new Set<string>();
    for (const message of messages) {
      if (seen.has(message.messageKey)) continue;
      seen.add(message.messageKey);
      const named = message.subscriptionIds && new Set(message.subscriptionIds);
      const to: string[] = [];
      for (const [index, row] of candidates.entries()) {
        const target = named
          ? named.has(row.id)
          : subscriptionMatches(
              specs[index],
              message.type,
              message.match,
              this.options.defaultLeadTimes,
            );
        if (target) to.push(row.id);
      }
      if (to.length === 0) continue;
      targeted.push(message);
      recipients.push(to);
    }
    return { targeted, recipients };
  }

  /**
   * Cancels every delivery of a message that has not been sent yet (an alert made moot by an
   * extension). A delivery being attempted right now may still arrive. Returns how many.
   */
  async cancel(runner: SqlRunner, messageKey: string): Promise<number> {
    // A message still staged gets its rows first (waiting for a sweep writing them), so that
    // none is written pending after this.
    await this.expandStaged(runner, { keys: [messageKey], wait: true });
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

/**
 * Random UUIDs whose first 48 bits are the time in milliseconds (the layout of UUIDv7): rows
 * written together sit together in the primary key's index instead of all over it. The time
 * part is formatted once for all the ids of a dispatch.
 */
/** A message's body as stored: `{ type, timestamp, data }`. */
function payloadOf(message: WebhookMessage, now: Date): string {
  return JSON.stringify({
    type: message.type,
    timestamp: (message.occurredAt ?? now).toISOString(),
    data: message.data,
  } satisfies WebhookPayload);
}

function timeOrderedUuids(at: Date): () => string {
  const time = at.getTime().toString(16).padStart(12, '0').slice(-12);
  const prefix = `${time.slice(0, 8)}-${time.slice(8)}-7`;
  return () => `${prefix}${randomUUID().slice(15)}`;
}

export async function notifyDeliveries(runner: SqlRunner): Promise<void> {
  await queryRows(runner, 'SELECT pg_notify($1, $2)', [WEBHOOK_DELIVERIES_CHANNEL, '']);
}
