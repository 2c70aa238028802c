import { CreateWebhooks1764400000000 } from './migrations/1764400000000-create-webhooks';
import { WebhookDeliveryClaims1764600000000 } from './migrations/1764600000000-webhook-delivery-claims';
import { DropRelayedAt1764600002000 } from './migrations/1764600002000-drop-relayed-at';
import { WebhookMessages1764700000000 } from './migrations/1764700000000-webhook-messages';
import { StagedWebhookMessages1764950000000 } from './migrations/1764950000000-staged-webhook-messages';
import { WebhookSubscriptionVersion1764970000000 } from './migrations/1764970000000-webhook-subscription-version';
import { WebhookSubscriptionIdempotency1764970001000 } from './migrations/1764970001000-webhook-subscription-idempotency';
import { WebhookIdempotencyKeys1764970002000 } from './migrations/1764970002000-webhook-idempotency-keys';
import { WebhookCreationIdempotencyKeys1764990200000 } from './migrations/1764990200000-webhook-creation-idempotency-keys';
import { WebhookKeysOutliveSubscriptions1765100000000 } from './migrations/1765100000000-webhook-keys-outlive-subscriptions';
import { WebhookUrlsAsCalled1765400000000 } from './migrations/1765400000000-webhook-urls-as-called';

export {
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
  type WebhookMatch,
  type WebhookMessage,
  type WebhookPayload,
} from './webhook-message';
export {
  distinctLeadTimesOf,
  eventTypeMatches,
  isSchedulableLeadTime,
  MAX_LEAD_TIME,
  normalizeLeadTime,
  subscriptionMatches,
  type MatchableSubscription,
  type WebhookFilters,
} from './webhook-matching';
export { leadTimeProblem } from './webhook-lead-time';
export {
  DELIVERY_STATUSES,
  WEBHOOK_FORMATS,
  createWebhookSubscriptionSchema,
  updateWebhookSubscriptionSchema,
  type CreateWebhookSubscriptionInput,
  type DeliveryStatus,
  type UpdateWebhookSubscriptionInput,
  type WebhookAttempt,
  type WebhookDelivery,
  type WebhookDeliveryWithAttempts,
  type WebhookFormat,
  type WebhookSubscription,
  type WebhookSubscriptionWithSecret,
} from './webhook-subscription';
export { generateWebhookSecret, webhookIdFor } from './webhook-secret';
export { signWebhook, type SignedHeaders } from './webhook-signature';
export { renderBody, CLOUDEVENTS_SOURCE, CLOUDEVENTS_TYPE_PREFIX } from './webhook-body';
export {
  WebhookDispatcher,
  WEBHOOK_DELIVERIES_CHANNEL,
  type WebhookDispatcherOptions,
} from './webhook-dispatcher';
export {
  WebhookDeliveryPump,
  type StagedMessagesSweep,
  type WebhookDeliveryPumpOptions,
} from './webhook-delivery-pump';
export {
  WebhookDeliverer,
  type AttemptResult,
  type ClaimedDelivery,
  type ClaimRequest,
  type DeliveryOutcome,
  type WebhookDelivererOptions,
} from './webhook-deliverer';
export {
  WebhookHttpClient,
  type WebhookHttpClientOptions,
  type WebhookHttpResult,
} from './webhook-http-client';
export {
  WebhookUrlGuard,
  WebhookUrlRefusedError,
  isPublicAddress,
  type AddressResolver,
  type WebhookUrlGuardOptions,
} from './webhook-url-guard';
export { nextAttemptAt, parseRetryAfter, type RetryPolicy } from './webhook-retry-policy';
export { WebhookMetrics } from './webhook-metrics';
export {
  InvalidWebhookCursorError,
  WebhookSubscriptionsService,
  type Page,
  type WebhookSubscriptionsServiceOptions,
} from './webhook-subscriptions.service';
export {
  WebhookDeliveryNotFoundError,
  WebhookStateConflictError,
  SecretSupersededError,
  SubscriptionDeletedSinceError,
  WebhookSubscriptionNotFoundError,
} from './webhooks.errors';
export type { PgQueryable, SqlRunner } from './infrastructure/queryable';
export { WebhooksModule } from './webhooks.module';
export { WebhookEventPublisher } from './events/webhook-event-publisher';
export {
  agreementIdsOf,
  extendedMessage,
  suspensionData,
  suspensionMatch,
  type AgreementRef,
  type EndChange,
  type SuspensionAgreements,
} from './events/suspension-messages';

export const webhooksMigrations = [
  CreateWebhooks1764400000000,
  WebhookDeliveryClaims1764600000000,
  DropRelayedAt1764600002000,
  WebhookMessages1764700000000,
  StagedWebhookMessages1764950000000,
  WebhookSubscriptionVersion1764970000000,
  WebhookSubscriptionIdempotency1764970001000,
  WebhookIdempotencyKeys1764970002000,
  WebhookCreationIdempotencyKeys1764990200000,
  WebhookKeysOutliveSubscriptions1765100000000,
  WebhookUrlsAsCalled1765400000000,
];
