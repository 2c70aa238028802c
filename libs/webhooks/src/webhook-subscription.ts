import { isPartyCode, MEASURE_KINDS } from '@app/domain';
import { z } from 'zod';
import { leadTimeProblem } from './webhook-lead-time';
import { MAX_WEBHOOK_URL_LENGTH } from './webhook-url-guard';
import { distinctLeadTimesOf, type WebhookFilters } from './webhook-matching';
import { WEBHOOK_EVENT_TYPES } from './webhook-message';

export const WEBHOOK_FORMATS = ['standard', 'cloudevents'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export const DELIVERY_STATUSES = [
  'pending',
  'delivering',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** A subscription as the API shows it: never a secret. */
export interface WebhookSubscription {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  filters: WebhookFilters;
  leadTimes: string[];
  format: WebhookFormat;
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: Date | null;
  consecutiveFailures: number;
  /** Until when the previous secret still signs, after a rotation. */
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** Counts its changes (through the API, or disabled by the deliverer): its `ETag`. */
  version: number;
}

/** The answer to creation and rotation: the only times the secret is shown. */
export type WebhookSubscriptionWithSecret = WebhookSubscription & { secret: string };

export interface WebhookAttempt {
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  responseBody: string | null;
}

export interface WebhookDelivery {
  id: string;
  subscriptionId: string;
  webhookId: string;
  messageKey: string;
  eventType: string;
  payload: object;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export type WebhookDeliveryWithAttempts = WebhookDelivery & { attemptLog: WebhookAttempt[] };

const KNOWN_TYPES = new Set<string>(WEBHOOK_EVENT_TYPES);
// Groups of dotted types only: `ping` is a type of its own, and `ping.*` would match nothing.
const PREFIXES = new Set(
  WEBHOOK_EVENT_TYPES.filter((type) => type.includes('.')).map((type) => `${type.split('.')[0]}.*`),
);

/** An event type, `*`, or `<group>.*` for a group that exists (`suspension.*`, `measure.*`). */
export const eventTypePatternSchema = z
  .string()
  .refine((value) => value === '*' || KNOWN_TYPES.has(value) || PREFIXES.has(value), {
    message: `must be one of ${WEBHOOK_EVENT_TYPES.join(', ')}, a group such as suspension.*, or *`,
  });

/** See leadTimeProblem: the domain's rule, to the millisecond, P10Y at most as the calendar counts. */
export const leadTimeSchema = z.string().superRefine((value, context) => {
  const problem = leadTimeProblem(value);
  if (problem) context.addIssue({ code: 'custom', message: problem, input: value });
});

/** A party as the write side knows it (an assigned ISO 3166-1 alpha-2 code), in any case. */
const party = z
  .string()
  .max(2)
  .transform((value) => value.toUpperCase())
  .refine(isPartyCode, 'must be an assigned ISO 3166-1 alpha-2 code');

/** A kind the write API records a measure with, in any case; kept in the domain's lower case. */
const measureKind = z
  .string()
  .max(100)
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(MEASURE_KINDS, { message: `must be one of ${MEASURE_KINDS.join(', ')}` }))
  .describe(`A measure kind (any case, stored in lower case): ${MEASURE_KINDS.join(', ')}.`);

export const webhookFiltersSchema = z.strictObject({
  // Each party once: `CN` and `cn` are one filter.
  parties: z
    .array(party)
    .max(250)
    .transform((parties) => [...new Set(parties)])
    .optional(),
  // Each kind once: `Tariff` and `tariff` are one filter.
  measureKinds: z
    .array(measureKind)
    .max(50)
    .transform((kinds) => [...new Set(kinds)])
    .optional(),
  measures: z.array(z.string().min(1).max(200)).max(1000).optional(),
});

const urlSchema = z
  .string()
  .trim()
  .min(1)
  .max(MAX_WEBHOOK_URL_LENGTH)
  .describe(
    'An absolute http(s) URL whose host resolves to public addresses only. It is stored and ' +
      'shown normalised, as deliveries call it (`HTTP://Example.com` is `http://example.com/`); ' +
      'whitespace, backslashes and C1 controls inside it are refused (422 ' +
      '`webhook-url-refused`; C0 controls and DEL, as in any input, 400 `validation-failed`): ' +
      'percent-encode them.',
  );
const descriptionSchema = z.string().trim().max(500);
// Each pattern once, as lead times and kinds are kept.
const eventTypesSchema = z
  .array(eventTypePatternSchema)
  .min(1)
  .max(20)
  .transform((patterns) => [...new Set(patterns)]);
/**
 * Lead times are kept in their canonical form, each once: `PT60S` is stored as `PT1M`, and
 * `["PT1M","PT60S"]` or `["P7D","P1W"]` as one lead time (one alert, one delivery), not refused,
 * since the subscriber asked for nothing contradictory. See normalizeLeadTime.
 */
const leadTimesSchema = z.array(leadTimeSchema).max(20).transform(distinctLeadTimesOf);

export const createWebhookSubscriptionSchema = z.strictObject({
  url: urlSchema,
  description: descriptionSchema.default(''),
  eventTypes: eventTypesSchema,
  filters: webhookFiltersSchema.default({}),
  leadTimes: leadTimesSchema.default([]),
  format: z.enum(WEBHOOK_FORMATS).default('standard'),
  enabled: z.boolean().default(true),
});
export type CreateWebhookSubscriptionInput = z.output<typeof createWebhookSubscriptionSchema>;

export const updateWebhookSubscriptionSchema = z
  .strictObject({
    url: urlSchema,
    description: descriptionSchema,
    eventTypes: eventTypesSchema,
    filters: webhookFiltersSchema,
    leadTimes: leadTimesSchema,
    format: z.enum(WEBHOOK_FORMATS),
    enabled: z.boolean(),
  })
  .partial();
export type UpdateWebhookSubscriptionInput = z.output<typeof updateWebhookSubscriptionSchema>;
