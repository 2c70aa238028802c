import { type Change, insertChange, latestValue } from '../shared/change';
import { isBefore } from '../shared/instant';
import { claimFrom } from '../shared/party-claim';
import { liveEvents } from '../shared/retraction';
import { pickDefined } from '../shared/source';
import type {
  MeasureAnnounced,
  MeasureDefinition,
  MeasureEvent,
  MeasureImplemented,
  MeasureThreatened,
} from './measure.events';
import type { Exclusion, Measure, MeasureState, Suspension } from './measure.state';

type LifecycleEvent = MeasureThreatened | MeasureAnnounced | MeasureImplemented;
type FactEvent = Exclude<MeasureEvent, LifecycleEvent | { type: 'EventRetracted' }>;

/**
 * Keeps the whole history so that a retraction can be honoured by replaying the facts that
 * still stand: simpler and safer than teaching every fact how to undo itself.
 */
export function evolveMeasure(state: MeasureState, event: MeasureEvent): MeasureState {
  const history = [...state.history, event];
  if (event.type === 'EventRetracted') return { history, measure: replayMeasure(history) };
  return { history, measure: applyFact(state.measure, event) };
}

/** The measure described by the facts of a history that still stand. */
export function replayMeasure(history: readonly MeasureEvent[]): Measure | null {
  return liveEvents(history).reduce(applyFact, null);
}

// Lenient by design: after a retraction, a fact may refer to something that no longer exists
// (a suspension whose scheduling was retracted); such facts are skipped, not fatal.
function applyFact(measure: Measure | null, event: MeasureEvent): Measure | null {
  if (isLifecycle(event)) return applyLifecycle(measure, event);
  if (event.type === 'EventRetracted') return measure;
  return measure && applyToMeasure(measure, event);
}

function isLifecycle(event: MeasureEvent): event is LifecycleEvent {
  return (
    event.type === 'MeasureThreatened' ||
    event.type === 'MeasureAnnounced' ||
    event.type === 'MeasureImplemented'
  );
}

function applyLifecycle(measure: Measure | null, event: LifecycleEvent): Measure | null {
  const { measureId, measure: definition, effectiveAt, sources } = event.data;
  const defined = definition ? define(measure, measureId, definition) : measure;
  if (!defined) return null;
  const cited = { ...defined, sources: [...defined.sources, ...sources] };
  switch (event.type) {
    case 'MeasureThreatened':
      return { ...cited, threatenedAt: effectiveAt };
    case 'MeasureAnnounced':
      return { ...cited, announcedAt: effectiveAt };
    case 'MeasureImplemented':
      return { ...cited, effectiveAt };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function define(existing: Measure | null, id: string, definition: MeasureDefinition): Measure {
  const rateHistory = restate(existing?.rateHistory, definition.rate);
  const scopeHistory = restate(existing?.scopeHistory, definition.scope);
  return pickDefined({
    respondsTo: [],
    suspensions: [],
    exclusions: [],
    claims: [],
    sources: [],
    ...existing,
    id,
    code: definition.code,
    title: definition.title,
    kind: definition.kind,
    imposingParty: definition.imposingParty,
    targetParties: definition.targetParties,
    legalBasis: definition.legalBasis,
    instrument: definition.instrument,
    summary: definition.summary,
    timeZone: definition.timeZone,
    rateHistory,
    rate: latestValue(rateHistory),
    scopeHistory,
    scope: latestValue(scopeHistory),
  });
}

/** New initial terms replace the old ones; amendments recorded since are kept. */
function restate<T>(changes: Change<T>[] | undefined, initial: T | undefined): Change<T>[] {
  const amendments = (changes ?? []).filter((change) => change.from !== undefined);
  return initial === undefined ? amendments : [{ value: initial }, ...amendments];
}

function applyToMeasure(measure: Measure, event: FactEvent): Measure {
  const { data } = event;
  switch (event.type) {
    case 'MeasureRateAmended': {
      const rateHistory = insertChange(measure.rateHistory, {
        from: data.effectiveAt,
        value: event.data.rate,
      });
      return { ...measure, rateHistory, rate: latestValue(rateHistory) };
    }
    case 'MeasureScopeAmended': {
      const scopeHistory = insertChange(measure.scopeHistory, {
        from: data.effectiveAt,
        value: event.data.scope,
      });
      return { ...measure, scopeHistory, scope: latestValue(scopeHistory) };
    }
    case 'MeasureRevoked':
      // The earliest revocation that stands: the decider takes a second one only when it
      // brings the revocation forward (one at or after the first is refused).
      return {
        ...measure,
        revokedAt:
          measure.revokedAt !== undefined && isBefore(measure.revokedAt, data.effectiveAt)
            ? measure.revokedAt
            : data.effectiveAt,
      };
    case 'CountermeasureLinked':
      return measure.respondsTo.includes(event.data.respondsTo)
        ? measure
        : { ...measure, respondsTo: [...measure.respondsTo, event.data.respondsTo] };
    case 'PartyClaimRecorded':
      return { ...measure, claims: [...measure.claims, claimFrom(event)] };
    case 'SuspensionScheduled':
      return scheduleSuspension(measure, event.data);
    case 'SuspensionStarted':
      return updateSuspension(measure, event.data.suspensionId, (s) => ({
        ...s,
        state: 'active',
        startsAt: event.data.startsAt,
        ...(event.data.endsAt && { endsAt: event.data.endsAt }),
      }));
    case 'SuspensionExtended':
      return updateSuspension(measure, event.data.suspensionId, (s) =>
        pickDefined({
          ...s,
          // Any extension recorded after a lapse revives the suspension: one that pre-dates the
          // lapse (the decider now retracts such a lapse in the same append; this keeps streams
          // recorded before it coherent), and a continuation from a later date, whose new end
          // the alert schedule then counts down to (libs/alerts, "After a lapse").
          ...(s.state === 'lapsed' && { state: 'active' as const, lapsedAt: undefined }),
          endsAt: event.data.endsAt ?? s.endsAt,
          duration: event.data.duration ?? s.duration,
          extensions: [
            ...s.extensions,
            pickDefined({
              eventId: event.metadata.eventId,
              effectiveAt: data.effectiveAt,
              // The end this extension moved, as the facts that still stand say: the event's
              // own `previousEndsAt` was right when it was recorded, but names the end of an
              // earlier extension that may since have been retracted (the status on dates before
              // this extension took effect would take that retracted end back).
              previousEndsAt: s.endsAt,
              endsAt: event.data.endsAt,
              duration: event.data.duration,
              extendedBy: event.data.extendedBy,
              agreement: event.data.agreement,
              sources: data.sources,
            }),
          ],
        }),
      );
    case 'SuspensionLifted':
      return updateSuspension(measure, event.data.suspensionId, (s) => ({
        ...s,
        state: 'lifted',
        liftedAt: data.effectiveAt,
      }));
    case 'SuspensionLapsed':
      return updateSuspension(measure, event.data.suspensionId, (s) => ({
        ...s,
        state: 'lapsed',
        lapsedAt: data.effectiveAt,
      }));
    case 'ExclusionGranted':
      return grantExclusion(measure, event.data);
    case 'ExclusionExtended':
      return updateExclusion(measure, event.data.exclusionId, (e) =>
        pickDefined({
          ...e,
          endsAt: event.data.endsAt,
          extensions: [
            ...e.extensions,
            pickDefined({
              eventId: event.metadata.eventId,
              effectiveAt: data.effectiveAt,
              // As for a suspension's extension: the end as the facts that still stand say.
              previousEndsAt: e.endsAt,
              endsAt: event.data.endsAt,
            }),
          ],
        }),
      );
    case 'ExclusionExpired':
      return updateExclusion(measure, event.data.exclusionId, (e) => ({
        ...e,
        expiredAt: data.effectiveAt,
      }));
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function scheduleSuspension(
  measure: Measure,
  data: Extract<MeasureEvent, { type: 'SuspensionScheduled' }>['data'],
): Measure {
  if (measure.suspensions.some((s) => s.id === data.suspensionId)) return measure;
  const suspension: Suspension = pickDefined({
    id: data.suspensionId,
    // A fixed start is known from the decision itself, whether or not a SuspensionStarted
    // stands beside it: the status already counts the suspension from `startsAt`, and a lapse
    // or a trigger needs it started.
    state: data.startsAt === undefined ? 'scheduled' : 'active',
    startsAt: data.startsAt,
    startsWhen: data.startsWhen,
    endsAt: data.endsAt,
    duration: data.duration,
    part: data.part,
    agreement: data.agreement,
    reinstatesAutomatically: data.reinstatesAutomatically,
    scheduledAt: data.effectiveAt,
    extensions: [],
    sources: data.sources,
  });
  return { ...measure, suspensions: [...measure.suspensions, suspension] };
}

function grantExclusion(
  measure: Measure,
  data: Extract<MeasureEvent, { type: 'ExclusionGranted' }>['data'],
): Measure {
  if (measure.exclusions.some((e) => e.id === data.exclusionId)) return measure;
  const exclusion: Exclusion = pickDefined({
    id: data.exclusionId,
    description: data.description,
    hsCodes: data.hsCodes,
    grantedAt: data.effectiveAt,
    endsAt: data.endsAt,
    extensions: [],
    sources: data.sources,
  });
  return { ...measure, exclusions: [...measure.exclusions, exclusion] };
}

function updateSuspension(
  measure: Measure,
  suspensionId: string,
  update: (suspension: Suspension) => Suspension,
): Measure {
  return {
    ...measure,
    suspensions: measure.suspensions.map((s) => (s.id === suspensionId ? update(s) : s)),
  };
}

function updateExclusion(
  measure: Measure,
  exclusionId: string,
  update: (exclusion: Exclusion) => Exclusion,
): Measure {
  return {
    ...measure,
    exclusions: measure.exclusions.map((e) => (e.id === exclusionId ? update(e) : e)),
  };
}
