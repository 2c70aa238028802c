import type { AlertQueries } from '@app/alerts';
import {
  COMMITMENT_KINDS,
  COMMITMENT_STATUSES,
  MEASURE_KINDS,
  type Exclusion,
  type PartyClaim,
  type SuspensionExtension,
} from '@app/domain';
import type {
  AgreementQueries,
  MeasureQueries,
  MeasureSummary,
  MeasureView,
  SuspensionEndView,
  TariffLine,
  TariffSummaryQueries,
  TimelineQueries,
} from '@app/projections';
import { rateSchema, scopeSchema, sourceSchema } from '@app/trade';
import { DELIVERY_STATUSES, WEBHOOK_FORMATS } from '@app/webhooks';
import { z } from 'zod';
import type { FeedTokenController } from '../api-keys/feed-token.controller';
import type { EventsFeedController } from '../events/events-feed.controller';
import { MEASURE_STATUS_VALUES } from '../read-models/read-filters';
import type {
  WebhookAttemptDto,
  WebhookDeliveryDto,
  WebhookSubscriptionDto,
  WebhookSubscriptionWithSecretDto,
} from '../webhooks/webhooks.dto';

/**
 * The response bodies of the read routes, as zod schemas for the OpenAPI document. Each is
 * checked at build time against the type of what its query (or controller) returns, so a
 * field added to or dropped from a view fails the build until it is described here.
 */

// Any 8-4-4-4-12 hex id: imported data carries name-based (deterministic) ids, not only v4.
const uuid = z.guid();
const instant = z.iso.datetime({ offset: true });
const party = z.string().describe('An ISO 3166-1 alpha-2 code, e.g. `US`.');
const measureKind = z.enum(MEASURE_KINDS);
const measureStatus = z.enum(MEASURE_STATUS_VALUES);
const payload = z
  .record(z.string(), z.unknown())
  .describe('The event’s payload as stored (after upcasting), e.g. `effectiveAt`, `sources`.');

const suspendedPart = z
  .strictObject({ percentPoints: z.number() })
  .describe('The suspended points of an ad valorem rate (absent or null: the whole measure).');

const activeSuspension = z
  .strictObject({
    id: uuid,
    startsAt: instant,
    endsAt: instant.nullable(),
    part: suspendedPart.nullable(),
  })
  .describe('The suspension that matters most on `asOf`: a whole one, else the earliest started.');

const link = z
  .strictObject({ id: uuid, code: z.string().nullable() })
  .describe('A measure or an agreement by its id, with its code.');

/** Who imposes what on whom: how the detail and the list items both begin. */
const identity = {
  id: uuid,
  code: z.string().nullable(),
  title: z.string(),
  kind: measureKind,
  imposingParty: party,
  targetParties: z.array(party),
  legalBasis: z.string().nullable(),
  instrument: z.string().nullable(),
  summary: z.string().nullable(),
};

/** The status on `asOf`; every field null when the measure did not exist yet then. */
const statusOnDate = {
  status: measureStatus.nullable(),
  rate: rateSchema
    .nullable()
    .describe('The rate applied on `asOf`: the full rate less suspended points.'),
  fullRate: rateSchema
    .nullable()
    .describe(
      'The rate the measure sets on `asOf`, before suspensions: while announced, the rate it is ' +
        'to set; once revoked, the rate it ended with (an amendment or a phase dated at or ' +
        'after the revocation never took effect).',
    ),
  suspendedPart: suspendedPart.nullable(),
  activeSuspension: activeSuspension.nullable(),
};

const stageDates = {
  threatenedAt: instant.nullable(),
  announcedAt: instant.nullable(),
  effectiveAt: instant.nullable(),
  revokedAt: instant.nullable(),
};

const suspensionExtension = z.strictObject({
  eventId: uuid,
  effectiveAt: instant,
  previousEndsAt: instant.optional(),
  endsAt: instant.optional(),
  duration: z.string().optional(),
  extendedBy: z.string().optional(),
  agreement: uuid.optional(),
  sources: z.array(sourceSchema),
});

const suspension = z.strictObject({
  id: uuid,
  state: z.enum(['scheduled', 'active', 'lifted', 'lapsed']),
  startsAt: instant.nullable(),
  startsWhen: z
    .strictObject({ measure: uuid, suspension: uuid })
    .nullable()
    .describe('The suspension of another measure whose start starts this one.'),
  endsAt: instant.nullable().describe('The current (exclusive) end, after extensions.'),
  duration: z.string().nullable().describe('ISO 8601 duration, when the end was given as one.'),
  part: suspendedPart.nullable(),
  agreement: uuid.nullable().describe('The agreement this suspension implements.'),
  reinstatesAutomatically: z.boolean(),
  liftedAt: instant.nullable(),
  lapsedAt: instant.nullable(),
  onAsOf: z
    .strictObject({
      state: z.enum(['not-started', 'in-effect', 'lifted', 'ended']),
      endsAt: instant.nullable().describe('The end then in force, while in effect.'),
    })
    .describe(
      'Where the suspension stood on `asOf`, beside what became of it in the end: ' +
        '`not-started` before its start, or always if it was to start at or after the ' +
        'measure’s revocation; `in-effect`; `lifted`; `ended` past its end or from the ' +
        'revocation on (a lifting dated after the revocation lifted nothing).',
    ),
  extensions: z.array(suspensionExtension),
  sources: z.array(sourceSchema),
});

const exclusion = z.strictObject({
  id: uuid,
  description: z.string(),
  hsCodes: z.array(z.string()).optional(),
  grantedAt: instant,
  endsAt: instant.optional(),
  expiredAt: instant.optional(),
  extensions: z.array(
    z.strictObject({
      eventId: uuid,
      effectiveAt: instant,
      previousEndsAt: instant.optional(),
      endsAt: instant,
    }),
  ),
  sources: z.array(sourceSchema),
});

const partyClaim = z
  .strictObject({
    eventId: uuid,
    claimId: uuid,
    party,
    statement: z.string(),
    about: z.string().optional(),
    effectiveAt: instant,
    sources: z.array(sourceSchema),
  })
  .describe('One party’s account of a fact, kept beside the other party’s.');

const rateChange = z.strictObject({
  from: instant.optional().describe('Absent: from the beginning.'),
  value: rateSchema,
});

const measureView = z
  .strictObject({
    ...identity,
    timeZone: z.string().describe('IANA time zone in which the measure’s dates are counted.'),
    ...statusOnDate,
    suspensions: z.array(suspension),
    exclusions: z.array(exclusion),
    activeExclusions: z
      .array(z.strictObject({ id: uuid, description: z.string(), endsAt: instant.optional() }))
      .describe('Exclusions in effect on `asOf`: none once the measure is revoked.'),
    scope: scopeSchema
      .nullable()
      .describe('The scope on `asOf`; once revoked, the scope the measure ended with.'),
    rateHistory: z.array(rateChange),
    respondsTo: z.array(link).describe('The measures this one is a countermeasure to.'),
    countermeasures: z.array(link).describe('The measures that respond to this one.'),
    claims: z.array(partyClaim),
    sources: z.array(sourceSchema),
    ...stageDates,
    asOf: instant,
    knownAt: instant,
    version: z.int().min(1).describe('The stream’s version; also sent as the `ETag`.'),
  })
  .describe('A measure’s status on `asOf`, as recorded by `knownAt` (SPEC §4 measure status).');

const measureSummary = z
  .strictObject({
    ...identity,
    agreements: z.array(uuid).describe('The agreements its suspensions implement.'),
    ...statusOnDate,
    ...stageDates,
    version: z.int().min(1),
  })
  .describe('A list item: no histories, sources or claims (the detail has them).');

const measurePage = z.strictObject({
  asOf: instant.describe('The valid time every item of the page answers for.'),
  knownAt: instant.describe('The transaction time every item of the page answers for.'),
  items: z.array(measureSummary),
  nextCursor: z
    .string()
    .nullable()
    .describe('Pass as `cursor` for the next page; null at the end.'),
});

const historyEvent = z.strictObject({
  eventId: uuid,
  position: z.int().min(1).describe('Global position in the log.'),
  version: z.int().min(1).describe('Version of the stream after this event.'),
  type: z.string().describe('Past-tense event type, e.g. `SuspensionScheduled`.'),
  schemaVersion: z.int().min(1),
  effectiveAt: instant.nullable(),
  recordedAt: instant,
  actor: z.string().nullable().describe('The name of the API key that recorded it.'),
  sources: z.array(sourceSchema),
  data: payload,
  retracted: z
    .strictObject({ by: uuid, recordedAt: instant, reason: z.string().nullable() })
    .nullable()
    .describe('The standing retraction that struck this event, if any.'),
});

const eventHistory = z.strictObject({
  items: z.array(historyEvent),
  nextCursor: z
    .int()
    .min(1)
    .nullable()
    .describe(
      'Pass as `after` for the next page: the version of the last item, while more events ' +
        'follow it; null once the page reaches the end of the history (always, without `limit`).',
    ),
});

const commitmentStatus = z.enum(COMMITMENT_STATUSES);
const commitment = z.strictObject({
  id: uuid,
  obligor: party,
  kind: z.enum(COMMITMENT_KINDS),
  text: z.string(),
  measures: z.array(link),
  dueAt: instant.nullable(),
  condition: z.string().nullable(),
  status: commitmentStatus
    .nullable()
    .describe(
      'The status on `asOf`; null before the commitment took effect (the agreement’s ' +
        'conclusion, unless it was recorded as made later).',
    ),
  statusHistory: z.array(
    z.strictObject({
      eventId: uuid,
      status: commitmentStatus,
      effectiveAt: instant,
      note: z.string().optional(),
      sources: z.array(sourceSchema),
    }),
  ),
  sources: z.array(sourceSchema),
});

const agreementView = z
  .strictObject({
    id: uuid,
    code: z.string().nullable(),
    title: z.string(),
    status: z
      .enum(['concluded'])
      .nullable()
      .describe(
        'The status on `asOf`: null before the agreement was concluded, as a measure’s ' +
          '`status` is before its first stage (it is still listed and shown).',
      ),
    parties: z.array(party),
    venue: z.string().nullable(),
    summary: z.string().nullable(),
    concludedAt: instant,
    reaffirms: z
      .array(link)
      .describe('Earlier agreements this one reaffirms; empty on an `asOf` before its conclusion.'),
    commitments: z.array(commitment),
    claims: z.array(partyClaim),
    sources: z.array(sourceSchema),
    asOf: instant,
    knownAt: instant,
    version: z.int().min(1).describe('The stream’s version; also sent as the `ETag`.'),
  })
  .describe('An agreement with its commitments’ statuses on `asOf`, as recorded by `knownAt`.');

const agreementPage = z.strictObject({
  items: z.array(agreementView),
  nextCursor: uuid.nullable().describe('Pass as `cursor` for the next page; null at the end.'),
});

const feedEvent = z.strictObject({
  position: z.int().min(1),
  eventId: uuid,
  streamId: z.string().describe('`measure-<id>` or `agreement-<id>`.'),
  version: z.int().min(1),
  type: z.string(),
  schemaVersion: z.int().min(1),
  recordedAt: instant,
  effectiveAt: instant.nullable(),
  actor: z.string().nullable(),
  data: payload,
});

const eventFeed = z.strictObject({
  items: z.array(feedEvent),
  nextCursor: z
    .int()
    .min(0)
    .describe('Pass as `after` for the next page: the last position read (or `after` itself).'),
});

const suspensionEnd = z.strictObject({
  suspensionId: uuid,
  endsAt: instant,
  startsAt: instant.nullable(),
  state: z
    .enum(['scheduled', 'active', 'lapsed', 'lifted'])
    .describe('`lifted` only in the calendar feed, which cancels those.'),
  part: suspendedPart.nullable(),
  reinstatesAutomatically: z.boolean(),
  liftedAt: instant.nullable(),
  lapsedAt: instant.nullable(),
  extensions: z.int().min(0).describe('How many times the end was extended.'),
  revision: z
    .int()
    .min(0)
    .describe(
      "The calendar's SEQUENCE: the measure's stream version (a withdrawn suspension's, the " +
        'version that withdrew it), so it grows with every change and never goes back.',
    ),
  changedAt: instant,
  measure: z.strictObject({
    id: uuid,
    code: z.string().nullable(),
    title: z.string(),
    kind: measureKind,
    imposingParty: party,
    targetParties: z.array(party),
    timeZone: z.string(),
  }),
  agreement: link.nullable(),
});

const suspensionEndPage = z.strictObject({
  items: z.array(suspensionEnd),
  nextCursor: z.string().nullable(),
});

const timelineFact = z.strictObject({
  eventId: uuid,
  position: z.int().min(1),
  type: z.string(),
  effectiveAt: instant,
  recordedAt: instant,
  summary: z.string().describe('One line saying what happened.'),
  parties: z
    .array(party)
    .describe(
      'Whom the fact concerns: the agreement’s parties, or the measure’s imposing and target ' +
        'parties and the territories its scope in force on `effectiveAt` includes, and the ' +
        'party a claim is by.',
    ),
  imposingParty: party.nullable(),
  measure: z
    .strictObject({
      id: uuid,
      code: z.string().nullable(),
      title: z.string(),
      kind: z.string().nullable(),
    })
    .nullable(),
  agreement: z
    .union([
      z.strictObject({ id: uuid, code: z.string().nullable(), title: z.string() }),
      z.strictObject({ id: uuid, code: z.string().nullable() }),
    ])
    .nullable()
    .describe('The agreement the fact is about, or (with its title) the one it belongs to.'),
  subjectId: z
    .string()
    .nullable()
    .describe('The suspension, exclusion, commitment or claim the fact is about.'),
  actor: z.string().nullable(),
  data: payload,
});

const timelinePage = z.strictObject({
  items: z.array(timelineFact),
  nextCursor: z.string().nullable(),
});

const tariffLine = z.strictObject({
  id: uuid,
  code: z.string().nullable(),
  title: z.string(),
  status: measureStatus,
  allProducts: z.boolean().describe('Economy-wide: the tariff applies to all products.'),
  scope: scopeSchema.nullable(),
  fullRate: rateSchema.nullable(),
  rateInForce: rateSchema.nullable(),
  suspendedPart: suspendedPart.nullable(),
  activeSuspension: activeSuspension.nullable(),
});

const tariffTotal = z
  .strictObject({
    fullPercent: z.number(),
    inForcePercent: z.number(),
    suspendedPercent: z.number(),
    adValoremMeasures: z.int().min(0),
  })
  .describe('Ad valorem rates added up; specific rates do not add to them.');

const tariffGroup = z.strictObject({ measures: z.array(tariffLine), total: tariffTotal });

const tariffSummary = z.strictObject({
  imposingParty: party,
  targetParty: party,
  asOf: instant,
  knownAt: instant,
  economyWide: tariffGroup.describe('Tariffs on all products (scope `allProducts`).'),
  productSpecific: tariffGroup.describe('Tariffs on product lists.'),
});

const alert = z.strictObject({
  id: z.string(),
  measureId: uuid,
  suspensionId: z.string(),
  leadTime: z.string().describe('ISO 8601 duration before the end, e.g. `P30D`; `PT0S` at it.'),
  state: z.enum(['pending', 'fired', 'cancelled', 'skipped']),
  outcome: z.string().nullable(),
  fireAt: instant.describe('The intended fire time.'),
  endAt: instant,
  endVersion: z.int().min(0),
  enqueuedAt: instant.nullable(),
  firedAt: instant.nullable(),
  deliveredAt: instant
    .nullable()
    .describe(
      'The first successful delivery to any subscription, of alerts fired in the last 30 days. ' +
        'Copied in by the schedule’s periodic reconciliation (`ALERT_RECONCILE_EVERY_MS`, ' +
        'every minute by default), so it may stay null for that long after the delivery ' +
        'succeeded: the subscription’s delivery log has the moment.',
    ),
  cancelledAt: instant.nullable(),
  createdAt: instant,
});

const alertPage = z.strictObject({ items: z.array(alert), nextCursor: z.string().nullable() });

const feedToken = z.strictObject({
  keyId: uuid,
  feedToken: z
    .string()
    .describe('The calling key’s calendar feed token (stored hashed; shown only to the key).'),
  path: z.string().describe('`/api/v1/expiries.ics?token=…`'),
  url: z
    .string()
    .describe(
      'The feed URL: on `PUBLIC_BASE_URL` when the server has one, else as this request reached the server.',
    ),
});

const webhookFilters = z.strictObject({
  parties: z.array(party).optional(),
  measureKinds: z.array(measureKind).optional(),
  measures: z.array(z.string()).optional(),
});

const subscriptionFields = {
  id: uuid,
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  filters: webhookFilters,
  leadTimes: z.array(z.string()),
  format: z.enum(WEBHOOK_FORMATS),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  disabledAt: instant.nullable(),
  consecutiveFailures: z.int().min(0),
  previousSecretExpiresAt: instant.nullable(),
  createdAt: instant,
  updatedAt: instant,
  version: z
    .int()
    .min(1)
    .describe('Counts its changes; its `ETag`. Send it as `If-Match` to change it on top of it.'),
};
const webhookSubscription = z
  .strictObject(subscriptionFields)
  .describe('A webhook subscription; never its secret.');
const webhookSubscriptionWithSecret = z.strictObject({
  ...subscriptionFields,
  secret: z.string().describe('`whsec_…`: shown in this response only, never again.'),
});
const webhookSubscriptionList = z.strictObject({
  items: z.array(webhookSubscription),
  nextCursor: z.string().nullable(),
});

const webhookAttempt = z.strictObject({
  attemptedAt: instant,
  statusCode: z.int().nullable(),
  latencyMs: z.number().min(0),
  error: z.string().nullable(),
  responseBody: z.string().nullable().describe('The start of the response body.'),
});
const webhookDelivery = z.strictObject({
  id: uuid,
  webhookId: z.string().describe('The `webhook-id` header: the same on every retry and replay.'),
  eventType: z.string(),
  status: z.enum(DELIVERY_STATUSES),
  attemptCount: z.int().min(0),
  nextAttemptAt: instant.nullable(),
  lastStatusCode: z.int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: instant.nullable(),
  createdAt: instant,
  updatedAt: instant,
  payload: z.record(z.string(), z.unknown()).describe('The body sent, as JSON.'),
  attempts: z.array(webhookAttempt),
});
const webhookDeliveryList = z.strictObject({
  items: z.array(webhookDelivery),
  nextCursor: z.string().nullable(),
});
const webhookTestResult = z.strictObject({ deliveryId: uuid, webhookId: z.string() });
const webhookReplayResult = z.strictObject({
  replayed: z.int().min(0).describe('How many deliveries were queued again.'),
});

/** The read responses and their named parts, as `components.schemas`. */
export const READ_RESPONSE_SCHEMAS = {
  SuspendedPart: suspendedPart,
  ActiveSuspension: activeSuspension,
  Link: link,
  Suspension: suspension,
  Exclusion: exclusion,
  PartyClaim: partyClaim,
  RateChange: rateChange,
  MeasureView: measureView,
  MeasureSummary: measureSummary,
  MeasurePage: measurePage,
  HistoryEvent: historyEvent,
  EventHistory: eventHistory,
  Commitment: commitment,
  AgreementView: agreementView,
  AgreementPage: agreementPage,
  FeedEvent: feedEvent,
  EventFeed: eventFeed,
  SuspensionEnd: suspensionEnd,
  SuspensionEndPage: suspensionEndPage,
  TimelineFact: timelineFact,
  TimelinePage: timelinePage,
  TariffLine: tariffLine,
  TariffTotal: tariffTotal,
  TariffSummary: tariffSummary,
  Alert: alert,
  AlertPage: alertPage,
  FeedToken: feedToken,
  WebhookSubscription: webhookSubscription,
  WebhookSubscriptionWithSecret: webhookSubscriptionWithSecret,
  WebhookSubscriptionList: webhookSubscriptionList,
  WebhookAttempt: webhookAttempt,
  WebhookDelivery: webhookDelivery,
  WebhookDeliveryList: webhookDeliveryList,
  WebhookTestResult: webhookTestResult,
  WebhookReplayResult: webhookReplayResult,
} as const satisfies Record<string, z.ZodType>;

// ── Each schema describes what its route returns: the build fails when either side changes. ──

/**
 * S (the schema's output) is a T, and both have the same fields at every depth (through arrays
 * and nullables), so that a field added to a view inside a list fails the build too.
 */
type Describes<S, T> = [S] extends [T] ? SameFields<S, T> : false;
type SameFields<S, T> = [NonNullable<S>, NonNullable<T>] extends [infer A, infer B]
  ? [A] extends [readonly (infer AItem)[]]
    ? [B] extends [readonly (infer BItem)[]]
      ? SameFields<AItem, BItem>
      : false
    : [A] extends [object]
      ? [keyof B] extends [never]
        ? true // `object` or `{}`: any fields
        : [keyof A] extends [keyof B]
          ? [keyof B] extends [keyof A]
            ? false extends { [K in keyof A & keyof B]-?: SameFields<A[K], B[K]> }[keyof A &
                keyof B]
              ? false
              : true
            : false
          : false
      : true
  : false;
const describes = <_T extends true>() => undefined;
type Out<S extends z.ZodType> = z.output<S>;
type Returned<F extends (...args: never[]) => unknown> = NonNullable<Awaited<ReturnType<F>>>;
type Item<T extends { items: unknown[] }> = T['items'][number];

describes<Describes<Out<typeof measureView>, MeasureView>>();
describes<Describes<Out<typeof suspension>, MeasureView['suspensions'][number]>>();
describes<Describes<Out<typeof suspensionExtension>, SuspensionExtension>>();
describes<Describes<Out<typeof exclusion>, Exclusion>>();
describes<Describes<Out<typeof partyClaim>, PartyClaim>>();
describes<Describes<Out<typeof measureSummary>, MeasureSummary>>();
describes<Describes<Out<typeof eventHistory>, Returned<MeasureQueries['events']>>>();
describes<Describes<Out<typeof eventHistory>, Returned<AgreementQueries['events']>>>();
describes<Describes<Out<typeof historyEvent>, Item<Returned<MeasureQueries['events']>>>>();
describes<Describes<Out<typeof historyEvent>, Item<Returned<AgreementQueries['events']>>>>();
describes<Describes<Out<typeof agreementView>, Returned<AgreementQueries['get']>>>();
describes<
  Describes<Out<typeof commitment>, Returned<AgreementQueries['get']>['commitments'][number]>
>();
describes<Describes<Out<typeof agreementPage>, Returned<AgreementQueries['list']>>>();
describes<Describes<Out<typeof eventFeed>, Returned<EventsFeedController['feed']>>>();
describes<Describes<Out<typeof feedEvent>, Item<Returned<EventsFeedController['feed']>>>>();
describes<Describes<Out<typeof suspensionEnd>, SuspensionEndView>>();
type TimelineItem = Item<Returned<TimelineQueries['list']>>;
// `agreement` is one of two shapes, which TypeScript normalises to `title?: undefined` in one.
describes<[Out<typeof timelinePage>] extends [Returned<TimelineQueries['list']>] ? true : false>();
describes<
  Describes<Omit<Out<typeof timelineFact>, 'agreement'>, Omit<TimelineItem, 'agreement'>>
>();
describes<
  Describes<NonNullable<Out<typeof timelineFact>['agreement']>, { id: string; code: string | null }>
>();
describes<Describes<Out<typeof tariffSummary>, Returned<TariffSummaryQueries['summary']>>>();
describes<Describes<Out<typeof tariffLine>, TariffLine>>();
describes<Describes<Out<typeof alertPage>, Returned<AlertQueries['list']>>>();
describes<Describes<Out<typeof alert>, Item<Returned<AlertQueries['list']>>>>();
describes<Describes<Out<typeof feedToken>, Returned<FeedTokenController['feedToken']>>>();
describes<Describes<Out<typeof webhookSubscription>, WebhookSubscriptionDto>>();
describes<Describes<Out<typeof webhookSubscriptionWithSecret>, WebhookSubscriptionWithSecretDto>>();
describes<Describes<Out<typeof webhookDelivery>, WebhookDeliveryDto>>();
describes<Describes<Out<typeof webhookAttempt>, WebhookAttemptDto>>();
