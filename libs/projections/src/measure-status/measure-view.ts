import { measureStatusAt, type Measure, type MeasureStatusView } from '@app/domain';

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
    timeZone: measure.timeZone,
    /** Null when the measure did not exist yet on `asOf`. */
    status: status?.status ?? null,
    /** The rate applied on `asOf`: the full rate less suspended points. */
    rate: status?.rateInForce ?? null,
    fullRate: status?.fullRate ?? null,
    suspendedPart: status?.suspendedPart ?? null,
    activeSuspension: activeSuspensionOf(status),
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
    sources: measure.sources,
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
 * sources or claims (the detail has them), so that a page stays small to read and to send.
 */
export function toMeasureSummary(measure: Measure, asOf: Date, knownAt: Date, version: number) {
  const status = measureStatusAt(measure, asOf);
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
    /** The agreements its suspensions implement. */
    agreements: [
      ...new Set(measure.suspensions.flatMap((s) => (s.agreement ? [s.agreement] : []))),
    ],
    status: status?.status ?? null,
    rate: status?.rateInForce ?? null,
    fullRate: status?.fullRate ?? null,
    suspendedPart: status?.suspendedPart ?? null,
    activeSuspension: activeSuspensionOf(status),
    threatenedAt: measure.threatenedAt ?? null,
    announcedAt: measure.announcedAt ?? null,
    effectiveAt: measure.effectiveAt ?? null,
    revokedAt: measure.revokedAt ?? null,
    asOf: asOf.toISOString(),
    knownAt: knownAt.toISOString(),
    version,
  };
}

export type MeasureSummary = ReturnType<typeof toMeasureSummary>;

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

/** The agreements a measure's suspensions implement, each once. */
export function agreementsOf(measure: Measure | null): string[] {
  const ids = (measure?.suspensions ?? []).flatMap((s) => (s.agreement ? [s.agreement] : []));
  return [...new Set(ids)];
}
