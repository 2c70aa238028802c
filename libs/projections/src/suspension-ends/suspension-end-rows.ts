import { coveredPartiesOf, partiesCoveredOn, type Measure, type Suspension } from '@app/domain';
import type { FoldStep } from '../measure-fold';

/**
 * The rows of `suspension_ends` as a function of a measure's fold steps: the projection writes
 * them, and a read as known at a past time computes them the same way from the events recorded
 * by then.
 */

/**
 * When a suspension's row last changed: the stream version of that event (`sequence`, the
 * calendar's SEQUENCE once the suspension is withdrawn) and its recording time (DTSTAMP).
 * Rows written before versions were kept here hold a count of changes instead, which is never
 * above the stream version of the change it counted.
 */
export type Revisions = Record<string, { sequence: number; changedAt: string }>;

export interface StreamRow {
  revisions: Revisions;
  version: number;
  lastPosition: number;
}

export interface Folded extends StreamRow {
  measure: Measure | null;
  /**
   * Suspensions these events made disappear (a retracted scheduling, or a retraction that
   * unmade the measure) and that are still gone after them, as they last stood: their rows
   * stay, `retracted`, so that the calendar can cancel an event a client already has.
   */
  withdrawn: Map<string, Withdrawn>;
  /** Whether the measure had rows already, which its new rows replace. */
  resumed: boolean;
}

/** A suspension as it last stood before it disappeared, with its measure then. */
export interface Withdrawn {
  measure: Measure;
  suspension: Suspension;
}

/** The state of a row whose suspension no longer exists: it is kept only to be cancelled. */
export const RETRACTED = 'retracted' as const;

/**
 * The stream's revisions after its new events. They are followed event by event, so that
 * however the log is cut into batches (a rebuild in one pass or the worker's small batches)
 * every suspension ends with the same.
 */
export function reviseSuspensionEnds(
  stored: StreamRow | undefined,
  before: Measure | null,
  steps: FoldStep[],
): Folded {
  const revisions: Revisions = { ...stored?.revisions };
  const withdrawn = new Map<string, Withdrawn>();
  let previous = contentsOf(before, undefined);
  for (const { event, measure } of steps) {
    const current = contentsOf(measure, previous);
    const changedAt = event.recordedAt.toISOString();
    for (const [suspensionId, { content }] of current.suspensions) {
      const revision = revisions[suspensionId];
      withdrawn.delete(suspensionId);
      if (!revision || previous.suspensions.get(suspensionId)?.content !== content) {
        revisions[suspensionId] = { sequence: event.version, changedAt };
      }
    }
    // Disappearing is a change too: the calendar cancels the event, with a higher SEQUENCE.
    for (const [suspensionId, { suspension }] of previous.suspensions) {
      if (current.suspensions.has(suspensionId) || !previous.measure) continue;
      revisions[suspensionId] = { sequence: event.version, changedAt };
      withdrawn.set(suspensionId, { measure: previous.measure, suspension });
    }
    previous = current;
  }
  const last = steps[steps.length - 1].event;
  return {
    measure: steps[steps.length - 1].measure,
    revisions,
    withdrawn,
    version: last.version,
    lastPosition: last.position,
    resumed: stored !== undefined,
  };
}

/** Each suspension's row content, serialized for comparison. */
interface Contents {
  measure: Measure | null;
  header: string;
  suspensions: Map<string, { suspension: Suspension; content: string }>;
}

/**
 * `measure`'s contents. Evolve keeps the objects of suspensions an event did not touch, so a
 * suspension that is the same object under the same measure header keeps its serialized content
 * from `previous` instead of being serialized again at every event.
 */
function contentsOf(measure: Measure | null, previous: Contents | undefined): Contents {
  if (!measure) return { measure, header: '', suspensions: new Map() };
  const header = JSON.stringify(headerOf(measure));
  const reuse = previous?.header === header ? previous.suspensions : undefined;
  const suspensions = new Map<string, { suspension: Suspension; content: string }>();
  for (const suspension of measure.suspensions) {
    const known = reuse?.get(suspension.id);
    suspensions.set(
      suspension.id,
      known?.suspension === suspension
        ? known
        : { suspension, content: header + JSON.stringify(suspensionOf(suspension)) },
    );
  }
  return { measure, header, suspensions };
}

/** The columns a row takes from its measure. */
function headerOf(measure: Measure) {
  return {
    measure_code: measure.code ?? null,
    measure_title: measure.title,
    measure_kind: measure.kind,
    imposing_party: measure.imposingParty,
    target_parties: measure.targetParties,
    covered_parties: coveredPartiesOf(measure),
    time_zone: measure.timeZone,
    measure_revoked_at: measure.revokedAt ?? null,
  };
}

/** The columns a row takes from its suspension. */
function suspensionOf(s: Suspension) {
  return {
    state: s.state,
    starts_at: s.startsAt ?? null,
    starts_when: s.startsWhen ?? null,
    ends_at: s.endsAt ?? null,
    duration: s.duration ?? null,
    part_points: s.part?.percentPoints ?? null,
    agreement_id: s.agreement ?? null,
    reinstates_automatically: s.reinstatesAutomatically,
    lifted_at: s.liftedAt ?? null,
    lapsed_at: s.lapsedAt ?? null,
    extensions: s.extensions.length,
  };
}

/**
 * The rows of a stream after its new events: one per suspension of the measure, and one per
 * suspension they withdrew (those withdrawn by earlier events keep the rows they have).
 */
export function suspensionEndRows(measureId: string, stream: Folded) {
  // The calendar's SEQUENCE of a standing suspension is the measure's stream version: it grows
  // with each event of the measure (more often than the suspension changes, which calendars
  // take in their stride) and never goes back, however the row's changes were once counted (a
  // rebuild after an upgrade that counts them otherwise would lower a count). A withdrawn one
  // keeps the version that withdrew it.
  const standing = (stream.measure?.suspensions ?? []).map((suspension) =>
    rowOf(measureId, stream, stream.measure as Measure, suspension, stream.version),
  );
  const withdrawn = [...stream.withdrawn.values()].map(({ measure, suspension }) => ({
    ...rowOf(measureId, stream, measure, suspension, stream.revisions[suspension.id].sequence),
    state: RETRACTED,
  }));
  return [...standing, ...withdrawn];
}

function rowOf(
  measureId: string,
  stream: Folded,
  measure: Measure,
  s: Suspension,
  sequence: number,
) {
  const revision = stream.revisions[s.id];
  return {
    measure_id: measureId,
    suspension_id: s.id,
    ...headerOf(measure),
    ...suspensionOf(s),
    // Whose goods the end reaches: a target party, or a territory the scope in force at the end
    // includes. That is when the suspended duty comes back, and on whose goods; a territory the
    // scope took in after the end, or dropped before it, has nothing expiring. Not part of a
    // row's content for its revision: it follows from the scope and the end, which are.
    covered_at_end: partiesCoveredOn(measure, s.endsAt ?? null),
    sequence,
    changed_at: revision.changedAt,
    version: stream.version,
    last_position: stream.lastPosition,
  };
}
