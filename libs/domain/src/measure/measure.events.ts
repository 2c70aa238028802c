import type { DomainEvent, Sourced } from '../shared/event';
import type { Instant, IsoDuration, TimeZone } from '../shared/instant';
import type { PartyClaimRecorded } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { Rate, SuspendedPart } from '../shared/rate';
import type { EventRetracted } from '../shared/retraction';
import type { Scope } from '../shared/scope';

export const MEASURE_KINDS = [
  'tariff',
  'export-control',
  'entity-list',
  'port-fee',
  'sanction',
  'investigation',
  'other',
] as const;

export type MeasureKind = (typeof MEASURE_KINDS)[number];

/** The terms of a measure as first recorded (or restated when a threat becomes an announcement). */
export interface MeasureDefinition {
  code?: string;
  title: string;
  kind: MeasureKind;
  imposingParty: PartyCode;
  targetParties: PartyCode[];
  legalBasis?: string;
  /** The instrument that imposes it, e.g. `EO 14257`, `Tariff Commission Ann. No. 4 of 2025`. */
  instrument?: string;
  summary?: string;
  rate?: Rate;
  scope?: Scope;
  /** The legal clock of the imposing party; durations are computed in it. */
  timeZone: TimeZone;
}

/** "When suspension S of measure M takes effect". */
export interface SuspensionTrigger {
  measure: string;
  suspension: string;
}

export interface MeasureThreatenedData extends Sourced {
  measureId: string;
  measure: MeasureDefinition;
}

export interface MeasureAnnouncedData extends Sourced {
  measureId: string;
  /** Present when the announcement creates the measure or restates a threat's terms. */
  measure?: MeasureDefinition;
}

export interface MeasureImplementedData extends Sourced {
  measureId: string;
  /** Present when the measure was not recorded before it took effect, or its terms changed. */
  measure?: MeasureDefinition;
}

export interface MeasureRateAmendedData extends Sourced {
  rate: Rate;
}

export interface MeasureScopeAmendedData extends Sourced {
  scope: Scope;
}

export interface SuspensionScheduledData extends Sourced {
  suspensionId: string;
  startsAt?: Instant;
  startsWhen?: SuspensionTrigger;
  /** Given, or resolved from `duration` when the start is fixed. */
  endsAt?: Instant;
  /** Counted from the start, in the measure's time zone. */
  duration?: IsoDuration;
  /** Absent: the whole measure is suspended. */
  part?: SuspendedPart;
  /** The agreement this suspension implements. */
  agreement?: string;
  reinstatesAutomatically: boolean;
}

/** The suspension's start became known; `effectiveAt` is that start. */
export interface SuspensionStartedData extends Sourced {
  suspensionId: string;
  startsAt: Instant;
  /** The end, resolved from the duration now that the start is known. */
  endsAt?: Instant;
}

export interface SuspensionExtendedData extends Sourced {
  suspensionId: string;
  /** The new end, when it can be resolved. */
  endsAt?: Instant;
  /** The new total duration, while the start (and so the end) is still unknown. */
  duration?: IsoDuration;
  /** The extension as requested, when given as a duration ("continued 90 days"). */
  extendedBy?: IsoDuration;
  previousEndsAt?: Instant;
  agreement?: string;
}

export interface SuspensionLiftedData extends Sourced {
  suspensionId: string;
}

/** The end was reached without an extension; `effectiveAt` is that (exclusive) end. */
export interface SuspensionLapsedData extends Sourced {
  suspensionId: string;
}

export interface ExclusionGrantedData extends Sourced {
  exclusionId: string;
  description: string;
  hsCodes?: string[];
  /** Exclusive end; absent = until further notice. */
  endsAt?: Instant;
}

export interface ExclusionExtendedData extends Sourced {
  exclusionId: string;
  endsAt: Instant;
  previousEndsAt?: Instant;
}

export interface ExclusionExpiredData extends Sourced {
  exclusionId: string;
}

export type MeasureRevokedData = Sourced;

export interface CountermeasureLinkedData extends Sourced {
  /** The id of the measure of the other party that this one answers. */
  respondsTo: string;
}

export type MeasureThreatened = DomainEvent<'MeasureThreatened', MeasureThreatenedData>;
export type MeasureAnnounced = DomainEvent<'MeasureAnnounced', MeasureAnnouncedData>;
export type MeasureImplemented = DomainEvent<'MeasureImplemented', MeasureImplementedData>;
export type MeasureRateAmended = DomainEvent<'MeasureRateAmended', MeasureRateAmendedData>;
export type MeasureScopeAmended = DomainEvent<'MeasureScopeAmended', MeasureScopeAmendedData>;
export type SuspensionScheduled = DomainEvent<'SuspensionScheduled', SuspensionScheduledData>;
export type SuspensionStarted = DomainEvent<'SuspensionStarted', SuspensionStartedData>;
export type SuspensionExtended = DomainEvent<'SuspensionExtended', SuspensionExtendedData>;
export type SuspensionLifted = DomainEvent<'SuspensionLifted', SuspensionLiftedData>;
export type SuspensionLapsed = DomainEvent<'SuspensionLapsed', SuspensionLapsedData>;
export type ExclusionGranted = DomainEvent<'ExclusionGranted', ExclusionGrantedData>;
export type ExclusionExtended = DomainEvent<'ExclusionExtended', ExclusionExtendedData>;
export type ExclusionExpired = DomainEvent<'ExclusionExpired', ExclusionExpiredData>;
export type MeasureRevoked = DomainEvent<'MeasureRevoked', MeasureRevokedData>;
export type CountermeasureLinked = DomainEvent<'CountermeasureLinked', CountermeasureLinkedData>;

export type MeasureEvent =
  | MeasureThreatened
  | MeasureAnnounced
  | MeasureImplemented
  | MeasureRateAmended
  | MeasureScopeAmended
  | SuspensionScheduled
  | SuspensionStarted
  | SuspensionExtended
  | SuspensionLifted
  | SuspensionLapsed
  | ExclusionGranted
  | ExclusionExtended
  | ExclusionExpired
  | MeasureRevoked
  | CountermeasureLinked
  | PartyClaimRecorded
  | EventRetracted;

export type MeasureEventType = MeasureEvent['type'];

/** Every measure event type, e.g. for a projection's subscription filter. */
export const MEASURE_EVENT_TYPES = [
  'MeasureThreatened',
  'MeasureAnnounced',
  'MeasureImplemented',
  'MeasureRateAmended',
  'MeasureScopeAmended',
  'SuspensionScheduled',
  'SuspensionStarted',
  'SuspensionExtended',
  'SuspensionLifted',
  'SuspensionLapsed',
  'ExclusionGranted',
  'ExclusionExtended',
  'ExclusionExpired',
  'MeasureRevoked',
  'CountermeasureLinked',
  'PartyClaimRecorded',
  'EventRetracted',
] as const satisfies readonly MeasureEventType[];

// Fails to compile when a type joins the union but not the list above.
const everyTypeListed: [Exclude<MeasureEventType, (typeof MEASURE_EVENT_TYPES)[number]>] extends [
  never,
]
  ? true
  : never = true;
void everyTypeListed;
