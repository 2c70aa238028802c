import { valueAt } from '../shared/change';
import { type Instant, isAtOrBefore, isBefore, toInstant, toMillis } from '../shared/instant';
import { type Rate, rateAt, roundPoints, type SuspendedPart } from '../shared/rate';
import type { PartyCode } from '../shared/party-code';
import type { Scope } from '../shared/scope';
import type { MeasureKind } from './measure.events';
import { type Measure, type MeasureState, type Suspension, termsInstantOn } from './measure.state';

export type MeasureStatus =
  'threatened' | 'announced' | 'in-force' | 'partially-suspended' | 'suspended' | 'revoked';

/** A suspension as it stands on a date: `endsAt` is its exclusive end, earlier if lifted. */
export interface SuspensionInEffect {
  id: string;
  startsAt: Instant;
  endsAt?: Instant;
  part?: SuspendedPart;
  agreement?: string;
  reinstatesAutomatically: boolean;
}

export interface MeasureStatusView {
  measureId: string;
  code?: string;
  title: string;
  kind: MeasureKind;
  imposingParty: PartyCode;
  targetParties: PartyCode[];
  status: MeasureStatus;
  asOf: Instant;
  /**
   * The rate the measure sets on that date, before suspensions (phased schedules resolved): the
   * rate it is to set while announced, and once revoked the rate it ended with.
   */
  fullRate: Rate | null;
  /** What is actually applied: the full rate minus suspended points; null unless in force. */
  rateInForce: Rate | null;
  /** The suspended points of an ad valorem rate (all of them when wholly suspended). */
  suspendedPart: SuspendedPart | null;
  /** The suspension that matters most on that date: a whole one, else the earliest started. */
  activeSuspension: SuspensionInEffect | null;
  activeSuspensions: SuspensionInEffect[];
  /** Exclusions in effect: none once the measure is revoked, as for suspensions. */
  activeExclusions: Array<{ id: string; description: string; endsAt?: Instant }>;
  /** The scope on that date; once revoked, the scope it ended with (as `fullRate`). */
  scope: Scope | null;
}

/**
 * The status of a measure on a date (valid time), derived from its facts, never stored.
 * Returns null when the measure did not exist yet on that date (or at all). For a status "as we
 * knew it" at some time, fold only the events recorded by then.
 */
export function measureStatusAt(
  subject: MeasureState | Measure,
  asOf: Instant | Date,
): MeasureStatusView | null {
  const measure = 'history' in subject ? subject.measure : subject;
  if (!measure) return null;
  const at = toInstant(asOf, 'asOf');
  const stage = stageAt(measure, at);
  if (!stage) return null;
  const fullRate = fullRateAt(measure, at) ?? null;
  const base = {
    measureId: measure.id,
    ...(measure.code !== undefined && { code: measure.code }),
    title: measure.title,
    kind: measure.kind,
    imposingParty: measure.imposingParty,
    targetParties: measure.targetParties,
    asOf: at,
    fullRate,
    scope: valueAt(measure.scopeHistory, termsInstantOn(measure, at)) ?? null,
    activeExclusions: exclusionsInEffectAt(measure, at),
  };
  if (stage !== 'in-force') {
    const nothing = { rateInForce: null, suspendedPart: null, activeSuspension: null };
    return { ...base, ...nothing, status: stage, activeSuspensions: [] };
  }
  return { ...base, ...applySuspensions(fullRate, suspensionsInEffectAt(measure, at)) };
}

function stageAt(measure: Measure, at: Instant): 'in-force' | MeasureStatus | undefined {
  const reached = (instant?: Instant) => instant !== undefined && isAtOrBefore(instant, at);
  if (reached(measure.revokedAt)) return 'revoked';
  if (reached(measure.effectiveAt)) return 'in-force';
  if (reached(measure.announcedAt)) return 'announced';
  if (reached(measure.threatenedAt)) return 'threatened';
  return undefined;
}

/**
 * The full rate on `at`: once the measure is revoked, the rate it ended with (an amendment or a
 * phase dated at or after the revocation never took effect).
 */
export function fullRateAt(measure: Measure, at: Instant): Rate | undefined {
  const terms = termsInstantOn(measure, at);
  const rate = valueAt(measure.rateHistory, terms);
  return rate && rateAt(rate, terms);
}

function applySuspensions(
  fullRate: Rate | null,
  active: SuspensionInEffect[],
): Pick<
  MeasureStatusView,
  'status' | 'rateInForce' | 'suspendedPart' | 'activeSuspension' | 'activeSuspensions'
> {
  const whole = active.find((s) => s.part === undefined);
  const activeSuspension = whole ?? active[0] ?? null;
  const common = { activeSuspension, activeSuspensions: active };
  if (active.length === 0) {
    return { ...common, status: 'in-force', rateInForce: fullRate, suspendedPart: null };
  }
  const fullPercent = fullRate?.type === 'ad-valorem' ? fullRate.percent : undefined;
  if (whole || fullPercent === undefined) {
    return {
      ...common,
      status: whole ? 'suspended' : 'partially-suspended',
      rateInForce: whole ? zero(fullRate) : fullRate,
      suspendedPart: fullPercent === undefined ? null : { percentPoints: fullPercent },
    };
  }
  const points = Math.min(
    fullPercent,
    roundPoints(sum(active.map((s) => s.part?.percentPoints ?? 0))),
  );
  const percent = roundPoints(fullPercent - points);
  return {
    ...common,
    status: percent === 0 ? 'suspended' : 'partially-suspended',
    rateInForce: { type: 'ad-valorem', percent },
    suspendedPart: { percentPoints: points },
  };
}

function zero(rate: Rate | null): Rate | null {
  if (!rate) return null;
  return rate.type === 'ad-valorem' ? { ...rate, percent: 0 } : { ...rate, amount: 0 };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/**
 * Suspensions in effect at an instant: started, not yet at their end, not lifted by then, of a
 * measure not revoked by then (a revocation ends what it suspended with it).
 */
export function suspensionsInEffectAt(
  measure: Measure,
  at: Instant,
  except?: string,
): SuspensionInEffect[] {
  if (measure.revokedAt !== undefined && isAtOrBefore(measure.revokedAt, at)) return [];
  return measure.suspensions
    .filter((s) => s.id !== except)
    .map((s) => inEffect(s, at))
    .filter((s): s is SuspensionInEffect => s !== undefined)
    .filter(
      (s) => isAtOrBefore(s.startsAt, at) && (s.endsAt === undefined || isBefore(at, s.endsAt)),
    )
    .sort((a, b) =>
      isBefore(a.startsAt, b.startsAt) ? -1 : isBefore(b.startsAt, a.startsAt) ? 1 : 0,
    );
}

/**
 * Whether a revocation takes a suspension's end away: the measure is revoked at or before the
 * end, so on the end's instant there is no measure left to lapse back into force (the status
 * reads `revoked` from the revocation's instant on). Alerts count down to no such end, and the
 * calendar shows it cancelled.
 */
export function isEndRevoked(
  revokedAt: Instant | Date | undefined | null,
  endsAt: Instant | Date,
): revokedAt is Instant | Date {
  return revokedAt !== undefined && revokedAt !== null && toMillis(revokedAt) <= toMillis(endsAt);
}

function inEffect(s: Suspension, at: Instant): SuspensionInEffect | undefined {
  if (s.startsAt === undefined) return undefined;
  const endsAt = earliest(endInForceAt(s, at), s.liftedAt);
  const view: SuspensionInEffect = {
    id: s.id,
    startsAt: s.startsAt,
    ...(endsAt !== undefined && { endsAt }),
    ...(s.part !== undefined && { part: s.part }),
    ...(s.agreement !== undefined && { agreement: s.agreement }),
    reinstatesAutomatically: s.reinstatesAutomatically,
  };
  return view;
}

/**
 * The end in force on `at` (valid time): the end first set, moved by each extension that had
 * taken effect by then. Looking back at June 2025, the Geneva suspension ended on 12 August;
 * the extensions that later carried it to November 2026 had not been decided yet.
 */
function endInForceAt(s: Suspension, at: Instant): Instant | undefined {
  let end = s.extensions.length ? s.extensions[0].previousEndsAt : s.endsAt;
  for (const extension of s.extensions) {
    if (extension.endsAt !== undefined && isAtOrBefore(extension.effectiveAt, at)) {
      end = extension.endsAt;
    }
  }
  return end ?? s.endsAt;
}

function earliest(a?: Instant, b?: Instant): Instant | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return isBefore(b, a) ? b : a;
}

/**
 * Exclusions in effect at an instant: granted, not yet at their end or expired, of a measure not
 * revoked by then (nothing is left to exclude from; one granted at or after the revocation, on
 * record from before it, never took effect).
 */
function exclusionsInEffectAt(
  measure: Measure,
  at: Instant,
): MeasureStatusView['activeExclusions'] {
  if (measure.revokedAt !== undefined && isAtOrBefore(measure.revokedAt, at)) return [];
  return measure.exclusions
    .filter((e) => isAtOrBefore(e.grantedAt, at))
    .filter((e) => {
      const end = earliest(e.endsAt, e.expiredAt);
      return end === undefined || isBefore(at, end);
    })
    .map((e) => ({
      id: e.id,
      description: e.description,
      ...(e.endsAt !== undefined && { endsAt: e.endsAt }),
    }));
}
