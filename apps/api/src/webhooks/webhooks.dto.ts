import type {
  WebhookAttempt,
  WebhookDeliveryWithAttempts,
  WebhookSubscription,
  WebhookSubscriptionWithSecret,
} from '@app/webhooks';

/** A subscription on the wire: never its secret, except in the answers that carry `secret`. */
export interface WebhookSubscriptionDto {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  filters: object;
  leadTimes: string[];
  format: string;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  consecutiveFailures: number;
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export type WebhookSubscriptionWithSecretDto = WebhookSubscriptionDto & { secret: string };

export interface WebhookAttemptDto {
  attemptedAt: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

export interface WebhookDeliveryDto {
  id: string;
  webhookId: string;
  eventType: string;
  status: string;
  attemptCount: number;
  nextAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdAt: string;
  updatedAt: string;
  payload: object;
  attempts: WebhookAttemptDto[];
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

export function toSubscriptionDto(subscription: WebhookSubscription): WebhookSubscriptionDto {
  return {
    id: subscription.id,
    url: subscription.url,
    description: subscription.description,
    eventTypes: subscription.eventTypes,
    filters: subscription.filters,
    leadTimes: subscription.leadTimes,
    format: subscription.format,
    enabled: subscription.enabled,
    disabledReason: subscription.disabledReason,
    disabledAt: iso(subscription.disabledAt),
    consecutiveFailures: subscription.consecutiveFailures,
    previousSecretExpiresAt: iso(subscription.previousSecretExpiresAt),
    createdAt: subscription.createdAt.toISOString(),
    updatedAt: subscription.updatedAt.toISOString(),
    version: subscription.version,
  };
}

export function toSubscriptionWithSecretDto(
  subscription: WebhookSubscriptionWithSecret,
): WebhookSubscriptionWithSecretDto {
  return { ...toSubscriptionDto(subscription), secret: subscription.secret };
}

function toAttemptDto(attempt: WebhookAttempt): WebhookAttemptDto {
  return {
    attemptedAt: attempt.attemptedAt.toISOString(),
    statusCode: attempt.statusCode,
    latencyMs: attempt.latencyMs,
    error: attempt.error,
    responseBody: attempt.responseBody,
  };
}

export function toDeliveryDto(delivery: WebhookDeliveryWithAttempts): WebhookDeliveryDto {
  return {
    id: delivery.id,
    webhookId: delivery.webhookId,
    eventType: delivery.eventType,
    status: delivery.status,
    attemptCount: delivery.attempts,
    nextAttemptAt: iso(delivery.nextAttemptAt),
    lastStatusCode: delivery.lastStatusCode,
    lastError: delivery.lastError,
    deliveredAt: iso(delivery.deliveredAt),
    createdAt: delivery.createdAt.toISOString(),
    updatedAt: delivery.updatedAt.toISOString(),
    payload: delivery.payload,
    attempts: delivery.attemptLog.map(toAttemptDto),
  };
}
