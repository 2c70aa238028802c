import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import type { WebhookFilters } from '../webhook-matching';
import type { WebhookPayload } from '../webhook-message';
import type {
  DeliveryStatus,
  WebhookAttempt,
  WebhookDelivery,
  WebhookFormat,
  WebhookSubscription,
} from '../webhook-subscription';
import { renderBody } from '../webhook-body';
import type { PgQueryable } from './queryable';

/** A row of `webhook_subscriptions`. Its secrets stay in this layer and the signer. */
export interface SubscriptionRow {
  id: string;
  url: string;
  description: string;
  event_types: string[];
  filters: WebhookFilters;
  lead_times: string[];
  format: WebhookFormat;
  enabled: boolean;
  disabled_reason: string | null;
  disabled_at: Date | null;
  consecutive_failures: number;
  failing_since: Date | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export interface DeliveryRow {
  id: string;
  subscription_id: string;
  webhook_id: string;
  message_key: string;
  event_type: string;
  /** From `webhook_messages`: one payload per message key. */
  payload: WebhookPayload;
  deadline: Date | null;
  status: DeliveryStatus;
  attempts: number;
  run_started_at: Date;
  run_attempts: number;
  next_attempt_at: Date;
  /** The claim (batch) of the worker attempting it now, and until when that claim holds. */
  claimed_by: string | null;
  claimed_until: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * A row of `webhook_idempotency_keys`: a key (scoped to the API key that sent it) claimed by the
 * creation of a subscription or a write on one, and what that request answered, never a secret.
 */
export interface IdempotencyKeyRow {
  idempotency_key: string;
  /** The subscription the request made (a creation) or wrote to. */
  subscription_id: string;
  request_fingerprint: string;
  /** Whether the request created its subscription (answered from the subscription as it is). */
  creation: boolean;
  /** The first request's answer as JSON; null for one answered from the current state. */
  answer: unknown;
  /**
   * A creation's or rotation's: the digest of the secret it made (see secretDigest); null for a
   * creation made before the keys moved here whose secret had already been rotated.
   */
  secret_digest: string | null;
  created_at: Date;
}

export interface AttemptRow {
  delivery_id: string;
  attempted_at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response_body: string | null;
}

/** Columns safe to show: everything but the secrets. */
export const PUBLIC_SUBSCRIPTION_COLUMNS =
  'id, url, description, event_types, filters, lead_times, format, enabled, disabled_reason, ' +
  'disabled_at, consecutive_failures, failing_since, previous_secret_expires_at, created_at, updated_at, ' +
  'version';

/** What follows `SELECT` to read deliveries with their message's payload (stored once per message). */
export const DELIVERY_SELECT = `d.*, m.payload FROM webhook_deliveries d
  JOIN webhook_messages m ON m.message_key = d.message_key`;

export async function inTransaction<T>(
  pool: Pool,
  work: (client: PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export function toSubscription(
  row: Omit<SubscriptionRow, 'secret' | 'previous_secret'>,
): WebhookSubscription {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    filters: row.filters,
    leadTimes: row.lead_times,
    format: row.format,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    disabledAt: row.disabled_at,
    consecutiveFailures: row.consecutive_failures,
    previousSecretExpiresAt: row.previous_secret_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  };
}

/** A subscription as kept in JSON (an idempotency record's answer): instants as ISO strings. */
export type SubscriptionJson = {
  [K in keyof WebhookSubscription]: WebhookSubscription[K] extends Date
    ? string
    : WebhookSubscription[K] extends Date | null
      ? string | null
      : WebhookSubscription[K];
};

export function subscriptionFromJson(json: SubscriptionJson): WebhookSubscription {
  const at = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...json,
    disabledAt: at(json.disabledAt),
    previousSecretExpiresAt: at(json.previousSecretExpiresAt),
    createdAt: new Date(json.createdAt),
    updatedAt: new Date(json.updatedAt),
  };
}

/**
 * What an idempotency record keeps of a secret: enough to tell whether a subscription's secret
 * is still the one a rotation made, nothing to sign with. (A secret is 32 random bytes: an
 * unsalted SHA-256 of it reveals nothing.)
 */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** A pending delivery under a live claim is being attempted right now. */
export function isBeingAttempted(
  row: Pick<DeliveryRow, 'status' | 'claimed_until'>,
  now: Date,
): boolean {
  return (
    row.status === 'delivering' ||
    (row.status === 'pending' && row.claimed_until !== null && row.claimed_until > now)
  );
}

/**
 * A delivery as the log shows it. Its `payload` is the body in the subscription's format,
 * rendered by the deliverer's own `renderBody` (a CloudEvents subscription's carries
 * `specversion`, `id`, `source`, the prefixed `type`…), so that the log shows what is sent. The
 * format is the subscription's now: the one its next attempt uses (an attempt made before the
 * format was changed sent the other form).
 */
export function toDelivery(
  row: DeliveryRow,
  format: WebhookFormat,
  now: Date = new Date(),
): WebhookDelivery {
  const open = row.status === 'pending' || row.status === 'delivering';
  return {
    id: row.id,
    subscriptionId: row.subscription_id,
    webhookId: row.webhook_id,
    messageKey: row.message_key,
    eventType: row.event_type,
    payload: JSON.parse(renderBody(format, row.payload, row.webhook_id).body) as object,
    status: isBeingAttempted(row, now) ? 'delivering' : row.status,
    attempts: row.attempts,
    nextAttemptAt: open ? row.next_attempt_at : null,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    deliveredAt: row.delivered_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toAttempt(row: AttemptRow): WebhookAttempt {
  return {
    attemptedAt: row.attempted_at,
    statusCode: row.status_code,
    latencyMs: row.latency_ms,
    error: row.error,
    responseBody: row.response_body,
  };
}

/**
 * Re-opens deliveries for another run of attempts with their own webhook-id (a retry by hand,
 * a replay, a re-enabled subscription catching up): due now, for the delivery pump to claim.
 * A delivery under a live claim is left to the worker attempting it.
 */
export async function reopenDeliveries(
  db: PgQueryable,
  where: string,
  values: unknown[],
  now: Date,
): Promise<string[]> {
  const nowParam = values.length + 1;
  const { rows } = await db.query<{ id: string }>(
    `UPDATE webhook_deliveries
     SET status = 'pending', run_started_at = $${nowParam}, run_attempts = 0,
         next_attempt_at = $${nowParam}, updated_at = $${nowParam}
     WHERE (${where}) AND (claimed_until IS NULL OR claimed_until <= $${nowParam})
     RETURNING id`,
    [...values, now],
  );
  return rows.map((row) => row.id);
}
