import { valueAt, type Change } from '../shared/change';
import {
  type Instant,
  type IsoDuration,
  isBefore,
  type TimeZone,
  toMillis,
} from '../shared/instant';
import type { PartyClaim } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { Rate, SuspendedPart } from '../shared/rate';
import type { Scope } from '../shared/scope';
import type { Source } from '../shared/source';
import type { MeasureEvent, MeasureKind, SuspensionTrigger } from './measure.events';

/**
 * Recorded lifecycle of a suspension. `active` means its start is known (it may lie ahead);
 * whether it is in effect on a given date is for `measureStatusAt` to say.
 */
export type SuspensionState = 'scheduled' | 'active' | 'lifted' | 'lapsed';

export interface SuspensionExtension {
  eventId: string;
  effectiveAt: Instant;
  previousEndsAt?: Instant;
  endsAt?: Instant;
  duration?: IsoDuration;
  extendedBy?: IsoDuration;
  agreement?: string;
  sources: Source[];
}

export interface Suspension {
  id: string;
  state: SuspensionState;
  startsAt?: Instant;
  startsWhen?: SuspensionTrigger;
  /** The current (exclusive) end, once it is known: after extensions, before any lifting. */
  endsAt?: Instant;
  /** The length from the start, when the end was given as a duration. */
  duration?: IsoDuration;
  part?: SuspendedPart;
  agreement?: string;
  reinstatesAutomatically: boolean;
  scheduledAt: Instant;
  liftedAt?: Instant;
  lapsedAt?: Instant;
  extensions: SuspensionExtension[];
  sources: Source[];
}

export interface Exclusion {
  id: string;
  description: string;
  hsCodes?: string[];
  grantedAt: Instant;
  endsAt?: Instant;
  expiredAt?: Instant;
  extensions: Array<{
    eventId: string;
    effectiveAt: Instant;
    previousEndsAt?: Instant;
    endsAt: Instant;
  }>;
  sources: Source[];
}

/** The measure as the facts that still stand describe it. Plain JSON, fit for a read model. */
export interface Measure {
  id: string;
  code?: string;
  title: string;
  kind: MeasureKind;
  imposingParty: PartyCode;
  targetParties: PartyCode[];
  legalBasis?: string;
  instrument?: string;
  summary?: string;
  /** The latest full rate (before suspensions), e.g. 34%. */
  rate?: Rate;
  rateHistory: Change<Rate>[];
  scope?: Scope;
  scopeHistory: Change<Scope>[];
  timeZone: TimeZone;
  threatenedAt?: Instant;
  announcedAt?: Instant;
  effectiveAt?: Instant;
  revokedAt?: Instant;
  /** Ids of the measures this one is a countermeasure to. */
  respondsTo: string[];
  suspensions: Suspension[];
  exclusions: Exclusion[];
  claims: PartyClaim[];
  sources: Source[];
}

export interface MeasureState {
  /** Every event of the stream in order, retractions and retracted events included. */
  history: MeasureEvent[];
  /** Null until a measure is recorded (or when its creation was retracted). */
  measure: Measure | null;
}

export function initialMeasureState(): MeasureState {
  return { history: [], measure: null };
}

/**
 * The parties whose goods the measure reaches: its target parties and the territories any of
 * its scopes includes (SPEC §1: the US fentanyl duty on China covers Hong Kong), in code order.
 */
export function coveredPartiesOf(measure: Measure | null): PartyCode[] {
  if (!measure) return [];
  const included = measure.scopeHistory.flatMap((change) => change.value.inclusions ?? []);
  return [...new Set([...measure.targetParties, ...included])].sort();
}

/**
 * The parties whose goods the measure reaches on `at`: its target parties and the territories
 * the scope in force then includes (HK under a duty on CN from the day its scope took HK in),
 * in code order; null `at`: the latest scope. `coveredPartiesOf` answers for every scope the
 * measure ever had; a question about one date (a list on `asOf`, an expiry, a timeline fact, an
 * alert) is answered by the scope on that date.
 */
export function partiesCoveredOn(measure: Measure, at: Instant | Date | null): PartyCode[] {
  const scope =
    at === null
      ? measure.scope
      : valueAt(measure.scopeHistory, typeof at === 'string' ? at : at.toISOString());
  return [...new Set([...measure.targetParties, ...(scope?.inclusions ?? [])])].sort();
}

/**
 * Whether the measure reaches `party`'s goods on `at` (see `partiesCoveredOn`): once revoked,
 * by the scope it ended with (see `termsInstantOn`), as its status shows it.
 */
export function coversOn(measure: Measure, party: PartyCode, at: Instant | Date): boolean {
  const instant = typeof at === 'string' ? at : at.toISOString();
  return partiesCoveredOn(measure, termsInstantOn(measure, instant)).includes(party);
}

/**
 * The instant whose terms (rate, phase of its schedule, scope) describe the measure on `at`:
 * `at` itself, or, from its revocation on, the last instant before it. An amendment or a phase
 * dated at or after the revocation never took effect: the decider refuses such an amendment
 * once the revocation is on record, but one recorded before stays in the history, and a revoked
 * measure is shown with the terms it ended with.
 */
export function termsInstantOn(measure: Measure, at: Instant): Instant {
  const { revokedAt } = measure;
  if (revokedAt === undefined || isBefore(at, revokedAt)) return at;
  // Instants are kept to the millisecond: the one before the revocation is the last it spared.
  return new Date(toMillis(revokedAt) - 1).toISOString();
}

export function findSuspension(measure: Measure, suspensionId: string): Suspension | undefined {
  return measure.suspensions.find((suspension) => suspension.id === suspensionId);
}

export function findExclusion(measure: Measure, exclusionId: string): Exclusion | undefined {
  return measure.exclusions.find((exclusion) => exclusion.id === exclusionId);
}
