import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import {
  measureDecider,
  measureStatusAt,
  type Measure,
  type MeasureEvent,
  type MeasureState,
  type MeasureStatusView,
} from '@app/domain';
import { EventStore } from '@app/event-store';
import { loadAggregate, measureStreamId } from '@app/trade';
import type { Pool } from 'pg';
import { chunks } from '../chunks';
import { changedSinceSql } from '../measure-status/measure-queries';

export interface TariffSummaryQuery {
  imposingParty: string;
  targetParty: string;
  asOf: Date;
  /** Absent: what the tracker knows now (read from the measure-status projection). */
  knownAt?: Date;
}

const APPLIED = new Set(['in-force', 'partially-suspended', 'suspended']);
/** Streams read back at once when folding as known at a past time. */
const FOLD_CONCURRENCY = 4;

/**
 * What one party charges on another's goods on a date (a territory's too, such as Hong Kong's
 * under duties on China whose scope includes it): each tariff in force with its full
 * rate, the suspended part and the rate applied, and the ad valorem totals, economy-wide
 * tariffs (scope `allProducts`) apart from those on product lists — only the former stack on
 * every product. Computed on read from the measure-status rows; a past `knownAt` folds each
 * candidate's events recorded by then.
 */
@Injectable()
export class TariffSummaryQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  async summary(query: TariffSummaryQuery) {
    const now = new Date();
    const knownAt = query.knownAt && query.knownAt < now ? query.knownAt : undefined;
    // For a past knownAt, also the measures changed since, whatever their rows say now: a
    // creation retracted since leaves a row that names no party.
    const { rows } = await this.pool.query<{ measure_id: string; measure: Measure | null }>(
      `SELECT measure_id, measure FROM measure_status
        WHERE (kind = 'tariff' AND imposing_party = $1 AND covered_parties @> ARRAY[$2])
           OR ($3::timestamptz IS NOT NULL AND ${changedSinceSql('$3')})`,
      [query.imposingParty, query.targetParty, knownAt ?? null],
    );
    const measures = knownAt
      ? await this.measuresKnownAt(
          rows.map((row) => row.measure_id),
          knownAt,
        )
      : rows.map((row) => row.measure);
    const lines = measures
      .filter((measure): measure is Measure => measure !== null)
      // Kind and parties as they stood then, for a past knownAt.
      .filter(
        (measure) => measure.kind === 'tariff' && measure.imposingParty === query.imposingParty,
      )
      .sort(byCode)
      .flatMap((measure) => {
        const status = measureStatusAt(measure, query.asOf);
        // The target party's goods, or those of a territory the scope on that date includes.
        const covers =
          measure.targetParties.includes(query.targetParty) ||
          (status?.scope?.inclusions ?? []).includes(query.targetParty);
        return status && covers && APPLIED.has(status.status) ? [lineOf(measure, status)] : [];
      });
    const economyWide = lines.filter((line) => line.allProducts);
    const productSpecific = lines.filter((line) => !line.allProducts);
    return {
      imposingParty: query.imposingParty,
      targetParty: query.targetParty,
      asOf: query.asOf.toISOString(),
      knownAt: (knownAt ?? now).toISOString(),
      economyWide: { measures: economyWide, total: totalOf(economyWide) },
      productSpecific: { measures: productSpecific, total: totalOf(productSpecific) },
    };
  }

  /** Each measure folded as known then, a few streams read at once (the pool is shared). */
  private async measuresKnownAt(ids: string[], knownAt: Date): Promise<(Measure | null)[]> {
    const measures: (Measure | null)[] = [];
    for (const part of chunks(ids, FOLD_CONCURRENCY)) {
      measures.push(...(await Promise.all(part.map((id) => this.measureKnownAt(id, knownAt)))));
    }
    return measures;
  }

  private async measureKnownAt(measureId: string, knownAt: Date): Promise<Measure | null> {
    const { state } = await loadAggregate<MeasureEvent, MeasureState>(
      this.store,
      measureDecider,
      measureStreamId(measureId),
      { recordedUntil: knownAt },
    );
    return state.measure;
  }
}

/** Lines in the order of their measures' codes (measures without one last), then ids. */
function byCode(a: Measure, b: Measure): number {
  if (a.code !== b.code) {
    if (a.code === undefined) return 1;
    if (b.code === undefined) return -1;
    return a.code < b.code ? -1 : 1;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export type TariffLine = ReturnType<typeof lineOf>;

function lineOf(measure: Measure, status: MeasureStatusView) {
  return {
    id: measure.id,
    code: measure.code ?? null,
    title: measure.title,
    status: status.status,
    /** Economy-wide: the tariff applies to all products of the target party. */
    allProducts: status.scope?.allProducts === true,
    scope: status.scope,
    fullRate: status.fullRate,
    rateInForce: status.rateInForce,
    suspendedPart: status.suspendedPart,
    activeSuspension: status.activeSuspension
      ? {
          id: status.activeSuspension.id,
          startsAt: status.activeSuspension.startsAt,
          endsAt: status.activeSuspension.endsAt ?? null,
          part: status.activeSuspension.part ?? null,
        }
      : null,
  };
}

/** Ad valorem percentages added up; specific rates (an amount per unit) do not add to them. */
function totalOf(lines: TariffLine[]) {
  const percent = (rate: TariffLine['fullRate']) =>
    rate?.type === 'ad-valorem' ? rate.percent : 0;
  const sum = (values: number[]) =>
    Math.round(values.reduce((total, value) => total + value, 0) * 1e6) / 1e6;
  const adValorem = lines.filter((line) => line.fullRate?.type === 'ad-valorem');
  return {
    fullPercent: sum(adValorem.map((line) => percent(line.fullRate))),
    inForcePercent: sum(adValorem.map((line) => percent(line.rateInForce))),
    suspendedPercent: sum(adValorem.map((line) => line.suspendedPart?.percentPoints ?? 0)),
    adValoremMeasures: adValorem.length,
  };
}
