import type { DomainCommand } from '../shared/event';
import type { Instant, IsoDuration, TimeZone } from '../shared/instant';
import type { RecordPartyClaim } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { Rate, SuspendedPart } from '../shared/rate';
import type { RetractEvent } from '../shared/retraction';
import type { Scope } from '../shared/scope';
import type { Source } from '../shared/source';
import type { MeasureKind, SuspensionTrigger } from './measure.events';
import type { Measure } from './measure.state';

/** A definition as a client sends it: the time zone defaults to UTC. */
export interface MeasureDefinitionInput {
  code?: string;
  title: string;
  kind: MeasureKind;
  imposingParty: PartyCode;
  targetParties: PartyCode[];
  legalBasis?: string;
  instrument?: string;
  summary?: string;
  rate?: Rate;
  scope?: Scope;
  timeZone?: TimeZone;
}

/** What a countermeasure check needs to know of the measure it answers (a `Measure` will do). */
export type MeasureRef = Pick<Measure, 'id' | 'imposingParty' | 'targetParties'>;

interface Cited {
  sources: Source[];
}

export type ThreatenMeasure = DomainCommand<
  'ThreatenMeasure',
  Cited & { measureId: string; measure: MeasureDefinitionInput; effectiveAt: Instant }
>;

export type AnnounceMeasure = DomainCommand<
  'AnnounceMeasure',
  Cited & { measureId: string; measure?: MeasureDefinitionInput; effectiveAt: Instant }
>;

export type ImplementMeasure = DomainCommand<
  'ImplementMeasure',
  Cited & { measureId: string; measure?: MeasureDefinitionInput; effectiveAt: Instant }
>;

/**
 * Records a measure in one go, as `POST /measures` does: whichever of threatened, announced and
 * effective instants are given, then a link to every measure it answers.
 */
export type RecordMeasure = DomainCommand<
  'RecordMeasure',
  Cited & {
    measureId: string;
    measure: MeasureDefinitionInput;
    threatenedAt?: Instant;
    announcedAt?: Instant;
    effectiveAt?: Instant;
    /** The answered measures' current states, loaded by the handler. */
    respondsTo?: MeasureRef[];
  }
>;

/** Changes the rate, the scope, or both, from `effectiveAt` on. */
export type AmendMeasure = DomainCommand<
  'AmendMeasure',
  Cited & { rate?: Rate; scope?: Scope; effectiveAt: Instant }
>;

export type LinkCountermeasure = DomainCommand<
  'LinkCountermeasure',
  Cited & { respondsTo: MeasureRef; effectiveAt?: Instant }
>;

export type ScheduleSuspension = DomainCommand<
  'ScheduleSuspension',
  Cited & {
    /** Lets an import refer to the suspension before it exists; generated when absent. */
    suspensionId?: string;
    startsAt?: Instant;
    startsWhen?: SuspensionTrigger;
    /**
     * The state of the measure named in `startsWhen` when it is another measure, loaded by the
     * handler (`null` when there is none). If its suspension has already started, this one
     * starts at the same instant.
     */
    triggerMeasure?: Measure | null;
    endsAt?: Instant;
    duration?: IsoDuration;
    part?: SuspendedPart;
    agreement?: string;
    /** Defaults to true. */
    reinstatesAutomatically?: boolean;
    /** When the suspension was decided; defaults to the fixed start, else now. */
    effectiveAt?: Instant;
  }
>;

/** Issued when the trigger of a conditional suspension takes effect. */
export type StartSuspension = DomainCommand<
  'StartSuspension',
  Cited & { suspensionId: string; startsAt: Instant }
>;

export type ExtendSuspension = DomainCommand<
  'ExtendSuspension',
  Cited & {
    suspensionId: string;
    endsAt?: Instant;
    /** Added to the current end ("continued for 90 days"). */
    duration?: IsoDuration;
    agreement?: string;
    effectiveAt?: Instant;
  }
>;

export type LiftSuspension = DomainCommand<
  'LiftSuspension',
  Cited & { suspensionId: string; effectiveAt: Instant }
>;

/** Issued once the end is reached; the sources default to those that set the end. */
export type LapseSuspension = DomainCommand<
  'LapseSuspension',
  {
    suspensionId: string;
    /**
     * The end the caller saw pass (the alert's): refused as `suspension-end-moved` when the
     * stream's end is another by now (an extension, or one retracted, recorded since).
     */
    endsAt?: string;
    sources?: Source[];
  }
>;

export type GrantExclusion = DomainCommand<
  'GrantExclusion',
  Cited & {
    exclusionId?: string;
    description: string;
    hsCodes?: string[];
    effectiveAt: Instant;
    endsAt?: Instant;
  }
>;

export type ExtendExclusion = DomainCommand<
  'ExtendExclusion',
  Cited & { exclusionId: string; endsAt: Instant; effectiveAt?: Instant }
>;

export type ExpireExclusion = DomainCommand<
  'ExpireExclusion',
  { exclusionId: string; sources?: Source[] }
>;

export type RevokeMeasure = DomainCommand<'RevokeMeasure', Cited & { effectiveAt: Instant }>;

export type MeasureCommand =
  | ThreatenMeasure
  | AnnounceMeasure
  | ImplementMeasure
  | RecordMeasure
  | AmendMeasure
  | LinkCountermeasure
  | ScheduleSuspension
  | StartSuspension
  | ExtendSuspension
  | LiftSuspension
  | LapseSuspension
  | GrantExclusion
  | ExtendExclusion
  | ExpireExclusion
  | RevokeMeasure
  | RecordPartyClaim
  | RetractEvent;

export type MeasureCommandType = MeasureCommand['type'];
