import { createHash } from 'node:crypto';
import { isEndRevoked, type Measure, type Suspension } from '@app/domain';
import { DateTime, Duration } from 'luxon';

/** The lead time of the alert at the end itself: firing it records the lapse. */
export const AT_END = 'PT0S';

export type AlertState = 'pending' | 'fired' | 'cancelled' | 'skipped';

/** The end a suspension's alerts were computed for, as the projection last saw it. */
export interface ScheduledEnd {
  suspensionId: string;
  endAt: string;
  /** The stream version of the event that set this end: the alerts' fence. */
  endVersion: number;
  /** False once the alerts of this end were cancelled (lifted, revoked, retracted…). */
  live: boolean;
}

export interface PlannedAlert {
  id: string;
  measureId: string;
  suspensionId: string;
  leadTime: string;
  fireAt: string;
  endAt: string;
  endVersion: number;
  state: Extract<AlertState, 'pending' | 'skipped'>;
}

export type CancelReason = 'end-moved' | 'lifted' | 'revoked' | 'retracted' | 'end-unknown';

export interface CancelledEnd extends ScheduledEnd {
  reason: CancelReason;
  /**
   * The end had lapsed before the event that moved it (a continuation from a later date), and
   * that lapse stands: its end alert stays pending if the lapse is on the log under the alert's
   * own command id (a run that recorded it and died before marking the alert), so that the
   * alert's job finds it recorded and announces it.
   */
  keepRecordedLapse?: true;
}

export interface AlertPlan {
  /** Ends whose pending alerts are cancelled (state `cancelled`), and why. */
  cancel: CancelledEnd[];
  /** The new current end of each suspension that changed. */
  ends: ScheduledEnd[];
  alerts: PlannedAlert[];
}

export interface PlanInput {
  measureId: string;
  /** The measure after the event (null: its creation was retracted). */
  measure: Measure | null;
  /** The measure before the event, when known: whether an end that moves had lapsed. */
  previous?: Measure | null;
  /** Every suspension of this measure the projection has seen, by id. */
  current: ReadonlyMap<string, ScheduledEnd>;
  /** The event's stream version. */
  version: number;
  /** When the event was recorded: alerts due before then are skipped, not fired late. */
  recordedAt: Date;
  /** Distinct lead times, `PT0S` included. */
  leadTimes: readonly string[];
}

/**
 * What one event changes in a measure's alert schedule, computed from the measure as it stands
 * after the event (so a retraction, which re-folds the history, needs no special case):
 * a suspension whose end moved gets alerts for the new end and its old pending ones are
 * cancelled; one that was lifted, revoked or retracted has its pending alerts cancelled; a lapsed
 * one is left alone (its alerts were all due by the lapse) unless the schedule counts down to
 * another end: a continuation recorded after the lapse, since retracted, whose alerts are then
 * cancelled (the suspension lapsed, nothing is left to fire).
 */
export function planAlerts(input: PlanInput): AlertPlan {
  const plan: AlertPlan = { cancel: [], ends: [], alerts: [] };
  const ids = new Set([
    ...input.current.keys(),
    ...(input.measure?.suspensions ?? []).map((s) => s.id),
  ]);
  for (const suspensionId of ids) {
    const suspension = input.measure?.suspensions.find((s) => s.id === suspensionId);
    const current = input.current.get(suspensionId);
    const live = current?.live ? current : undefined;
    if (suspension?.state === 'lapsed') {
      // The end it lapsed at is the schedule's end again, with nothing left to fire there: a
      // new row set would announce the same lapse twice, and a retraction of the lapse later
      // finds the end unmoved (see README, "After a lapse").
      if (live && suspension.endsAt && !sameInstant(live.endAt, suspension.endsAt)) {
        plan.cancel.push({ ...live, reason: 'end-moved' });
        plan.ends.push({
          suspensionId,
          endAt: suspension.endsAt,
          endVersion: input.version,
          live: true,
        });
      }
      continue;
    }
    const target = input.measure && suspension ? alertableEnd(input.measure, suspension) : null;
    if (live && target !== null && sameInstant(live.endAt, target)) continue;
    if (!live && target === null) continue;
    if (live) {
      const reason = cancelReason(input.measure, suspension, target);
      const before = input.previous?.suspensions.find((s) => s.id === suspensionId);
      const lapsedThere =
        target !== null &&
        before?.state === 'lapsed' &&
        before.endsAt !== undefined &&
        sameInstant(before.endsAt, live.endAt);
      plan.cancel.push({ ...live, reason, ...(lapsedThere && { keepRecordedLapse: true }) });
      if (target === null) plan.ends.push({ ...live, live: false });
    }
    if (target === null || !input.measure) continue;
    const end: ScheduledEnd = {
      suspensionId,
      endAt: target,
      endVersion: input.version,
      live: true,
    };
    plan.ends.push(end);
    plan.alerts.push(...alertsFor(input.measure, end, input.leadTimes, input.recordedAt));
  }
  return plan;
}

/** The end that alerts count down to, or null when none should fire. */
function alertableEnd(measure: Measure, suspension: Suspension): string | null {
  if (suspension.state === 'lifted' || !suspension.endsAt) return null;
  // Revoked by the end: the measure is gone, nothing will lapse.
  if (isEndRevoked(measure.revokedAt, suspension.endsAt)) return null;
  return suspension.endsAt;
}

function cancelReason(
  measure: Measure | null,
  suspension: Suspension | undefined,
  target: string | null,
): CancelReason {
  if (target !== null) return 'end-moved';
  if (!measure || !suspension) return 'retracted';
  if (suspension.state === 'lifted') return 'lifted';
  if (measure.revokedAt) return 'revoked';
  return 'end-unknown';
}

function alertsFor(
  measure: Measure,
  end: ScheduledEnd,
  leadTimes: readonly string[],
  recordedAt: Date,
): PlannedAlert[] {
  // Calendar lead times (P1M, P1D) count back on the measure's legal clock, as the domain's
  // `minusDuration` does; the end is parsed once for all lead times (this runs per suspension
  // of every replayed event, and `minusDuration` re-validates the zone on each call).
  const endInZone = DateTime.fromISO(end.endAt, { zone: measure.timeZone });
  return leadTimes.map((leadTime) => alertAt(measure.id, endInZone, end, leadTime, recordedAt));
}

/**
 * The alerts of one end at lead times added after the end was planned (a subscription asking
 * for a new one): the same rows, ids and fire times `planAlerts` gives, as of `asOf`.
 */
export function alertsForLeadTimes(
  measureId: string,
  timeZone: string,
  end: Omit<ScheduledEnd, 'live'>,
  leadTimes: readonly string[],
  asOf: Date,
): PlannedAlert[] {
  const endInZone = DateTime.fromISO(end.endAt, { zone: timeZone });
  return leadTimes.map((leadTime) => alertAt(measureId, endInZone, end, leadTime, asOf));
}

function alertAt(
  measureId: string,
  endInZone: DateTime,
  end: Omit<ScheduledEnd, 'live'>,
  leadTime: string,
  recordedAt: Date,
): PlannedAlert {
  const fireAt = endInZone.minus(Duration.fromISO(leadTime)).toUTC().toISO() as string;
  const due = Date.parse(fireAt) <= recordedAt.getTime();
  return {
    id: alertId(measureId, end.suspensionId, end.endVersion, leadTime),
    measureId,
    suspensionId: end.suspensionId,
    leadTime,
    fireAt,
    endAt: end.endAt,
    endVersion: end.endVersion,
    // A warning whose time had passed when the end became known is not sent late; the end
    // itself still fires, because firing it records the lapse.
    state: due && leadTime !== AT_END ? 'skipped' : 'pending',
  };
}

function sameInstant(a: string, b: string): boolean {
  return Date.parse(a) === Date.parse(b);
}

// A fixed namespace for alert ids (RFC 9562 name-based, version 5).
const NAMESPACE = Buffer.from('a1e7c0de5c4e4d1b9f2a7b3c8d9e0f11', 'hex');

/** Deterministic: replaying the log yields the same ids, so re-inserting a row is a no-op. */
export function alertId(
  measureId: string,
  suspensionId: string,
  endVersion: number,
  leadTime: string,
): string {
  const hash = createHash('sha1')
    .update(NAMESPACE)
    .update(`${measureId}/${suspensionId}/${endVersion}/${leadTime}`, 'utf8')
    .digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
