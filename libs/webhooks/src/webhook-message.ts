/** The event types a subscription can ask for (SPEC §3); patterns may use `*` wildcards. */
export const WEBHOOK_EVENT_TYPES = [
  'suspension.expiring',
  'suspension.lapsed',
  'suspension.extended',
  'measure.status-changed',
  'agreement.recorded',
  'ping',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** What a message is about, for the subscriptions' filters. */
export interface WebhookMatch {
  /** ISO 3166-1 alpha-2 codes of every party concerned (imposing and target). */
  parties: string[];
  measureKind?: string;
  measureId?: string;
  measureCode?: string;
  /** For `suspension.expiring`: the ISO 8601 lead time of the alert (`P30D`, `PT0S`). */
  leadTime?: string;
}

/** One message to fan out to every matching subscription. */
export interface WebhookMessage {
  type: WebhookEventType;
  /**
   * Stable key of the message (an alert id, an event id): with the subscription id it makes the
   * `webhook-id`, so dispatching the same message twice delivers it once per subscription.
   */
  messageKey: string;
  /** The `data` member of the body. */
  data: object;
  match: WebhookMatch;
  /** The body's `timestamp`: when the thing happened (default: now). */
  occurredAt?: Date;
  /**
   * Retries are compressed to finish before this instant where possible (an expiring alert's
   * end: a warning that arrives after the expiry has lost its point).
   */
  deadline?: Date;
  /** Only these subscriptions, whatever their event types and filters (a test `ping`). */
  subscriptionIds?: string[];
}

/** The JSON body of the standard format (Standard Webhooks): `{ type, timestamp, data }`. */
export interface WebhookPayload {
  type: WebhookEventType;
  timestamp: string;
  data: object;
}
