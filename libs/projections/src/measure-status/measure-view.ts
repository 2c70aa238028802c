import {
  measureStatusAt,
  type Measure,
  type MeasureStatusView,
  type Suspension,
  suspensionsInEffectAt,
} from '@app/domain';

export interface MeasureLink {
  id: string;
  code: string | null;
}

/** SPEC §4 measure status, plus what an analyst needs beside it. */
export function toMeasureView(
  measure: Measure,
  asOf: Date,
  knownAt: Date,
  version: number,
  links: { respondsTo: MeasureLink[]; countermeasures: MeasureLink[] },
) {
  const status = measureStatusAt(measure, asOf);
  const onAsOf = suspensionsOnAsOf(measure, asOf);
  return {
    ...identityOf(measure),
    timeZone: measure.timeZone,
    ...statusOf(status),
    suspensions: measure.suspensions.map((s) => ({
      id: s.id,
      state: s.state,
      startsAt: s.startsAt ?? null,
      startsWhen: s.startsWhen ?? null,
      endsAt: s.endsAt ?? null,
      duration: s.duration ?? null,
      part: s.part ?? null,
      agreement: s.agreement ?? null,
      reinstatesAutomatically: s.reinstatesAutomatically,
      liftedAt: s.liftedAt ?? null,
      lapsedAt: s.lapsedAt ?? null,
      onAsOf: onAsOf(s),
      extensions: s.extensions,
      sources: s.sources,
    })),
    exclusions: measure.exclusions,
    activeExclusions: status?.activeExclusions ?? [],
    scope: status?.scope ?? measure.scope ?? null,
    rateHistory: measure.rateHistory,
    respondsTo: links.respondsTo,
    countermeasures: links.countermeasures,
    claims: measure.claims,
    sources: distinctSources(measure.sources),
    threatenedAt: measure.threatenedAt ?? null,
    announcedAt: measure.announcedAt ?? null,
    effectiveAt: measure.effectiveAt ?? null,
    revokedAt: measure.revokedAt ?? null,
    asOf: asOf.toISOString(),
    knownAt: knownAt.toISOString(),
    version,
  };
}

export type MeasureView = ReturnType<typeof toMeasureView>;

type SuspensionOnAsOf = 'not-started' | 'in-effect' | 'lifted' | 'ended';

/**
 * Where each suspension stood on `asOf` (valid time), beside its recorded `state` and `endsAt`,
 * which say what became of it in the end: a suspension that lapsed in November 2026 was in
 * effect in June, until the end then in force (before later extensions moved it). `endsAt` is
 * given while it is in effect. (In effect by its own dates: whether the measure was in force
 * then is the measure's status.) The measure's revocation ends a suspension running then; one
 * that was to start at or after it (recorded before it) never started, and the timeline leaves
 * that start out too. A lifting dated after the revocation lifted nothing: the suspension had
 * ended with its measure.
 */
function suspensionsOnAsOf(measure: Measure, asOf: Date) {
  const at = asOf.toISOString();
  const inEffect = new Map(suspensionsInEffectAt(measure, at).map((s) => [s.id, s]));
  // Canonical UTC instants (as the domain stores them) compare as text.
  const { revokedAt } = measure;
  const spared = (instant: string) => revokedAt === undefined || instant < revokedAt;
  return (suspension: Suspension): { state: SuspensionOnAsOf; endsAt: string | null } => {
    const active = inEffect.get(suspension.id);
    if (active) return { state: 'in-effect', endsAt: active.endsAt ?? null };
    const { startsAt, liftedAt } = suspension;
    if (startsAt === undefined || at < startsAt || !spared(startsAt)) {
      return { state: 'not-started', endsAt: null };
    }
    const lifted = liftedAt !== undefined && liftedAt <= at && spared(liftedAt);
    return { state: lifted ? 'lifted' : 'ended', endsAt: null };
  };
}

/**
 * What a list item is computed from: the measure without its sources, claims, HS codes and
 * extension sources, which list items do not show. Stored beside the full measure so that a
 * page reads rows small enough to stay uncompressed (a full measure is about 5 KB of JSON here).
 */
export function toListEntry(measure: Measure): Measure {
  return {
    ...measure,
    sources: [],
    claims: [],
    suspensions: measure.suspensions.map((s) => ({
      ...s,
      sources: [],
      extensions: s.extensions.map((extension) => ({ ...extension, sources: [] })),
    })),
    exclusions: measure.exclusions.map(({ hsCodes: _, ...exclusion }) => ({
      ...exclusion,
      sources: [],
      extensions: [],
    })),
  };
}

/**
 * A list item: who imposes what on whom and its status on `asOf`. Lists carry no histories,
 * sources or claims (the detail has them), so that a page stays small to read and to send; the
 * page, not each item, says which `asOf` and `knownAt` it answers for, so that an item is the
 * same for every `asOf` between two of the measure's instants (see `summaryValidity`).
 */
export function toMeasureSummary(measure: Measure, asOf: Date, version: number) {
  return {
    ...identityOf(measure),
    /** The agreements its suspensions implement. */
    agreements: agreementsOf(measure),
    ...statusOf(measureStatusAt(measure, asOf)),
    threatenedAt: measure.threatenedAt ?? null,
    announcedAt: measure.announcedAt ?? null,
    effectiveAt: measure.effectiveAt ?? null,
    revokedAt: measure.revokedAt ?? null,
    version,
  };
}

/**
 * The span of valid time around `at` in which the measure's status cannot change: from the
 * latest of its instants at or before `at` to the earliest after it (null: unbounded). Status
 * on a date only ever compares that date with instants the measure holds (stage dates, rate and
 * scope changes, phase dates, suspension starts, ends, extensions and liftings), so taking every
 * instant in it, whatever field it sits in, can only make the span too short, never too long.
 */
export function summaryValidity(
  measure: Measure,
  at: Date,
): { from: string | null; until: string | null } {
  return instantsAround(measure, at);
}

const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The latest instant at or before `at` and the earliest after it among every canonical UTC
 * instant (`2025-04-09T04:01:00.000Z`, as the domain stores them) anywhere in `value`; null
 * where there is none. Walks the value without copying it: the detail reads call this on
 * every request.
 */
export function instantsAround(
  value: unknown,
  at: Date,
): { from: string | null; until: string | null } {
  const millis = at.getTime();
  let from = Number.NEGATIVE_INFINITY;
  let until = Number.POSITIVE_INFINITY;
  const visit = (item: unknown): void => {
    if (typeof item === 'string') {
      // A cheap look at the length and the final `Z` first: most strings are not instants.
      if (item.length !== 24 || item.charCodeAt(23) !== 90 || !INSTANT.test(item)) return;
      const instant = Date.parse(item);
      if (instant <= millis) from = Math.max(from, instant);
      else until = Math.min(until, instant);
    } else if (Array.isArray(item)) {
      for (const element of item) visit(element);
    } else if (item !== null && typeof item === 'object') {
      for (const key in item) visit((item as Record<string, unknown>)[key]);
    }
  };
  visit(value);
  const iso = (instant: number) =>
    Number.isFinite(instant) ? new Date(instant).toISOString() : null;
  return { from: iso(from), until: iso(until) };
}

export type MeasureSummary = ReturnType<typeof toMeasureSummary>;

/** Who imposes what on whom, as the detail and list items both begin. */
function identityOf(measure: Measure) {
  return {
    id: measure.id,
    code: measure.code ?? null,
    title: measure.title,
    kind: measure.kind,
    imposingParty: measure.imposingParty,
    targetParties: measure.targetParties,
    legalBasis: measure.legalBasis ?? null,
    instrument: measure.instrument ?? null,
    summary: measure.summary ?? null,
  };
}

/** The status on a date; every field null when the measure did not exist yet then. */
function statusOf(status: MeasureStatusView | null) {
  return {
    status: status?.status ?? null,
    /** The rate applied on `asOf`: the full rate less suspended points. */
    rate: status?.rateInForce ?? null,
    fullRate: status?.fullRate ?? null,
    suspendedPart: status?.suspendedPart ?? null,
    activeSuspension: activeSuspensionOf(status),
  };
}

function activeSuspensionOf(status: MeasureStatusView | null) {
  const active = status?.activeSuspension;
  if (!active) return null;
  return {
    id: active.id,
    startsAt: active.startsAt,
    endsAt: active.endsAt ?? null,
    part: active.part ?? null,
  };
}

/**
 * The agreements a measure's suspensions implement, each once: the agreement a suspension was
 * made under and those that extended it (Kuala Lumpur extended the suspensions agreed in Geneva).
 */
export function agreementsOf(measure: Measure | null): string[] {
  const ids = (measure?.suspensions ?? []).flatMap((s) => [
    ...(s.agreement ? [s.agreement] : []),
    ...s.extensions.flatMap((extension) => (extension.agreement ? [extension.agreement] : [])),
  ]);
  return [...new Set(ids)];
}

/** What the `q` filter of a list searches: the measure's names and texts, lower-cased. */
export function searchTextOf(measure: Measure | null): string {
  return [measure?.code, measure?.title, measure?.summary, measure?.instrument, measure?.legalBasis]
    .filter(Boolean)
    .join(' ')
    .toLowerCase();
}

/**
 * Each source once: a measure gathers the sources of every stage, and its announcement and its
 * implementation often cite the same notice.
 */
function distinctSources<T extends object>(sources: readonly T[]): T[] {
  const seen = new Set<string>();
  return sources.filter((source) => {
    const key = JSON.stringify(Object.entries(source).sort(([a], [b]) => (a < b ? -1 : 1)));
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
