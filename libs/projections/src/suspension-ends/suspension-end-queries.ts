import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import {
  evolveMeasure,
  initialMeasureState,
  isEndRevoked,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { measureStreamId, StreamCodeIndex, toDomainEvent } from '@app/trade';
import type { Pool } from 'pg';
import { chunks } from '../chunks';
import { type Cursor, CURSOR_KEYS, encodeCursor, readCursor } from '../cursor';
import { RETRACTED, reviseSuspensionEnds, suspensionEndRows } from './suspension-end-rows';

export interface SuspensionEndQuery {
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  imposingParty?: string;
  /** A party the measure targets, or a territory its scope in force at the end includes. */
  targetParty?: string;
  kind?: string;
  /**
   * Transaction time: only events recorded by then, and retractions recorded by then, count.
   * Absent (or not in the past): what the tracker knows now.
   */
  knownAt?: Date;
  after?: string;
  limit: number;
}

interface SuspensionEndRow {
  measure_id: string;
  suspension_id: string;
  measure_code: string | null;
  measure_title: string;
  measure_kind: string;
  imposing_party: string;
  target_parties: string[];
  covered_parties: string[];
  covered_at_end: string[];
  time_zone: string;
  measure_revoked_at: Date | null;
  state: string;
  starts_at: Date | null;
  ends_at: Date;
  part_points: string | null;
  agreement_id: string | null;
  reinstates_automatically: boolean;
  lifted_at: Date | null;
  lapsed_at: Date | null;
  extensions: number;
  sequence: number;
  changed_at: Date;
}

/** A suspension end as the API shows it. */
export interface SuspensionEndView {
  suspensionId: string;
  endsAt: string;
  startsAt: string | null;
  /** `scheduled` or `active` (still to end or ending), `lapsed`, or `lifted` (when asked for). */
  state: string;
  part: { percentPoints: number } | null;
  reinstatesAutomatically: boolean;
  liftedAt: string | null;
  lapsedAt: string | null;
  /** How many times the end was extended. */
  extensions: number;
  /**
   * The calendar's SEQUENCE: the measure's stream version (a withdrawn suspension's, the one
   * that withdrew it), so it grows with every event of the measure and never goes back.
   */
  revision: number;
  changedAt: string;
  measure: {
    id: string;
    code: string | null;
    title: string;
    kind: string;
    imposingParty: string;
    targetParties: string[];
    timeZone: string;
  };
  agreement: { id: string; code: string | null } | null;
}

/**
 * Why an end will not come: its suspension was lifted, or retracted (its scheduling, or the
 * measure itself, was withdrawn from the record), or its measure is revoked before it.
 */
export type SuspensionEndCancellation = 'lifted' | 'retracted' | 'measure-revoked';

/** A suspension end as the calendar feed shows it: also those that will not come, and why. */
export interface SuspensionEndEntry extends SuspensionEndView {
  /**
   * Null while the end stands. `at`: when the lifting or the revocation takes effect, or when
   * the retraction was recorded.
   */
  cancelled: { reason: SuspensionEndCancellation; at: string } | null;
}

/** The filters of a list, as SQL parameters $1–$7 (the cursor's three keys last). */
const FILTERS_SQL = `ends_at IS NOT NULL
          AND ($1::timestamptz IS NULL OR ends_at >= $1)
          AND ($2::timestamptz IS NULL OR ends_at < $2)
          AND ($3::text IS NULL OR imposing_party = $3)
          AND ($4::text IS NULL OR covered_at_end @> ARRAY[$4])
          AND ($5::text IS NULL OR measure_kind = $5)
          AND ($6::boolean OR (state NOT IN ('lifted', '${RETRACTED}')
                               -- not isEndRevoked: the measure still there at its end
                               AND (measure_revoked_at IS NULL OR measure_revoked_at > ends_at)))
          AND ($7::timestamptz IS NULL OR (ends_at, suspension_id, measure_id) > ($7, $8::uuid, $9::uuid))`;

const PAGE_SQL = `
  SELECT * FROM suspension_ends
   WHERE ${FILTERS_SQL}
   ORDER BY ends_at, suspension_id, measure_id
   LIMIT $10`;

/** The same, leaving out the measures given in $11 (they are folded from the log instead). */
const PAGE_EXCEPT_SQL = `
  SELECT * FROM suspension_ends
   WHERE ${FILTERS_SQL}
     AND NOT (measure_id = ANY($11::uuid[]))
   ORDER BY ends_at, suspension_id, measure_id
   LIMIT $10`;

/**
 * The measures with an event recorded after $1, and whether a suspension had been scheduled for
 * them by then (only those can have had a suspension end as known at $1). Each stream's events
 * are looked at through its (stream_id, version) index; the streams are found through the
 * BRIN index on recorded_at, so the cost grows with what was recorded since, not with the log.
 */
const CHANGED_SINCE_SQL = `
  SELECT substr(c.stream_id, 9) AS measure_id, s.had_suspension
    FROM (SELECT DISTINCT stream_id FROM events
           WHERE recorded_at > $1 AND stream_id LIKE 'measure-%') c
   CROSS JOIN LATERAL (
     SELECT coalesce(bool_or(e.type = 'SuspensionScheduled' AND e.recorded_at <= $1), false)
              AS had_suspension
       FROM events e WHERE e.stream_id = c.stream_id) s`;

/** Streams read back at once when folding as known at a past time. */
const FOLD_CONCURRENCY = 4;

/**
 * Suspension ends in a window, soonest first (keyset-paginated on end and suspension id). A
 * suspension counts while it has a known end and its measure is not revoked before that end;
 * lifted and retracted ones are left out. The calendar's list keeps all those, marked cancelled.
 *
 * A past `knownAt` reads the rows of the measures nothing was recorded for since (they are the
 * rows as known then), and folds the others from the events recorded by then, retractions
 * included, into the rows the projection would have held at that time.
 */
@Injectable()
export class SuspensionEndQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  async list(
    query: SuspensionEndQuery,
  ): Promise<{ items: SuspensionEndView[]; nextCursor: string | null }> {
    const { rows, codes, nextCursor } = await this.page(query, false);
    return { items: rows.map((row) => toView(row, codes)), nextCursor };
  }

  /**
   * The same with the ends that will not come (lifted, retracted, measure revoked before them),
   * each saying why: a calendar client that has their event must be told to cancel it.
   */
  async listWithCancelled(
    query: SuspensionEndQuery,
  ): Promise<{ items: SuspensionEndEntry[]; nextCursor: string | null }> {
    const { rows, codes, nextCursor } = await this.page(query, true);
    return {
      items: rows.map((row) => ({ ...toView(row, codes), cancelled: cancellationOf(row) })),
      nextCursor,
    };
  }

  private async page(query: SuspensionEndQuery, includeCancelled: boolean) {
    const cursor = readCursor(query.after, CURSOR_KEYS.suspensionEnds);
    const knownAt = query.knownAt && query.knownAt < new Date() ? query.knownAt : undefined;
    const values = [
      query.from ?? null,
      query.to ?? null,
      query.imposingParty ?? null,
      query.targetParty ?? null,
      query.kind ?? null,
      includeCancelled,
      cursor?.at ?? null,
      cursor?.keys[0] ?? null,
      cursor?.keys[1] ?? null,
      query.limit + 1,
    ];
    let rows: SuspensionEndRow[];
    if (!knownAt) {
      rows = (await this.pool.query<SuspensionEndRow>(PAGE_SQL, values)).rows;
    } else {
      const changed = await this.changedSince(knownAt);
      const stored = await this.pool.query<SuspensionEndRow>(PAGE_EXCEPT_SQL, [
        ...values,
        changed.all,
      ]);
      const folded = (await this.rowsKnownAt(changed.withSuspensions, knownAt)).filter((row) =>
        matches(row, query, includeCancelled, cursor),
      );
      rows = [...stored.rows, ...folded].sort(byEnd).slice(0, query.limit + 1);
    }
    const page = rows.slice(0, query.limit);
    const agreementIds = [...new Set(page.flatMap((row) => row.agreement_id ?? []))];
    const codes = agreementIds.length
      ? await this.codes.codesOf(agreementIds)
      : new Map<string, string>();
    const last = page.at(-1);
    return {
      rows: page,
      codes,
      nextCursor:
        rows.length > query.limit && last
          ? encodeCursor(last.ends_at, [last.suspension_id, last.measure_id])
          : null,
    };
  }

  /** Measures with something recorded after `knownAt`: all, and those with a suspension then. */
  private async changedSince(knownAt: Date): Promise<{ all: string[]; withSuspensions: string[] }> {
    const { rows } = await this.pool.query<{ measure_id: string; had_suspension: boolean }>({
      name: 'suspension-ends-changed-since',
      text: CHANGED_SINCE_SQL,
      values: [knownAt],
    });
    return {
      all: rows.map((row) => row.measure_id),
      withSuspensions: rows.filter((row) => row.had_suspension).map((row) => row.measure_id),
    };
  }

  /** The rows of these measures as the projection would have held them at `knownAt`. */
  private async rowsKnownAt(measureIds: string[], knownAt: Date): Promise<SuspensionEndRow[]> {
    const rows: SuspensionEndRow[] = [];
    for (const part of chunks(measureIds, FOLD_CONCURRENCY)) {
      const streams = await Promise.all(
        part.map((id) => this.store.readStream(measureStreamId(id), { recordedUntil: knownAt })),
      );
      streams.forEach((events, index) => rows.push(...foldRows(part[index], events)));
    }
    return rows;
  }
}

/** A measure's rows after `events`, as `SuspensionEndsProjection` would have held them. */
function foldRows(measureId: string, events: readonly RecordedEvent[]): SuspensionEndRow[] {
  let state: MeasureState = initialMeasureState();
  const steps = events.map((event) => {
    state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
    return { event, measure: state.measure };
  });
  if (!steps.length) return [];
  const folded = reviseSuspensionEnds(undefined, null, steps);
  return suspensionEndRows(measureId, folded).map(asRead);
}

/** A row as the projection writes it, in the types PostgreSQL returns it in. */
function asRead(row: ReturnType<typeof suspensionEndRows>[number]): SuspensionEndRow {
  const date = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...row,
    measure_revoked_at: date(row.measure_revoked_at),
    starts_at: date(row.starts_at),
    ends_at: date(row.ends_at) as Date,
    part_points: row.part_points === null ? null : String(row.part_points),
    lifted_at: date(row.lifted_at),
    lapsed_at: date(row.lapsed_at),
    changed_at: new Date(row.changed_at),
  };
}

/** Whether a folded row passes the filters the SQL applies to stored ones. */
function matches(
  row: SuspensionEndRow,
  query: SuspensionEndQuery,
  includeCancelled: boolean,
  cursor: Cursor | null,
): boolean {
  const end = row.ends_at;
  if (!end) return false;
  if (query.from && end < query.from) return false;
  if (query.to && end >= query.to) return false;
  if (query.imposingParty !== undefined && row.imposing_party !== query.imposingParty) return false;
  if (query.targetParty !== undefined && !row.covered_at_end.includes(query.targetParty)) {
    return false;
  }
  if (query.kind !== undefined && row.measure_kind !== query.kind) return false;
  if (!includeCancelled && cancellationOf(row)) return false;
  return (
    !cursor ||
    byEnd(row, {
      ends_at: cursor.at,
      suspension_id: cursor.keys[0].toLowerCase(),
      measure_id: cursor.keys[1].toLowerCase(),
    }) > 0
  );
}

/** The order of the SQL: end, then suspension id, then measure id (lowercase uuids sort as text). */
function byEnd(
  a: Pick<SuspensionEndRow, 'ends_at' | 'suspension_id' | 'measure_id'>,
  b: Pick<SuspensionEndRow, 'ends_at' | 'suspension_id' | 'measure_id'>,
): number {
  return (
    a.ends_at.getTime() - b.ends_at.getTime() ||
    compare(a.suspension_id, b.suspension_id) ||
    compare(a.measure_id, b.measure_id)
  );
}

/** The SQL's rule for the ends a list leaves out, and why (a retraction outranks the rest). */
function cancellationOf(row: SuspensionEndRow): SuspensionEndEntry['cancelled'] {
  if (row.state === RETRACTED) return { reason: 'retracted', at: row.changed_at.toISOString() };
  if (row.state === 'lifted') {
    return { reason: 'lifted', at: (row.lifted_at ?? row.changed_at).toISOString() };
  }
  if (isEndRevoked(row.measure_revoked_at, row.ends_at)) {
    return { reason: 'measure-revoked', at: row.measure_revoked_at.toISOString() };
  }
  return null;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function toView(row: SuspensionEndRow, codes: Map<string, string>): SuspensionEndView {
  const iso = (value: Date | null) => (value ? value.toISOString() : null);
  return {
    suspensionId: row.suspension_id,
    endsAt: row.ends_at.toISOString(),
    startsAt: iso(row.starts_at),
    state: row.state,
    part: row.part_points === null ? null : { percentPoints: Number(row.part_points) },
    reinstatesAutomatically: row.reinstates_automatically,
    liftedAt: iso(row.lifted_at),
    lapsedAt: iso(row.lapsed_at),
    extensions: row.extensions,
    revision: row.sequence,
    changedAt: row.changed_at.toISOString(),
    measure: {
      id: row.measure_id,
      code: row.measure_code,
      title: row.measure_title,
      kind: row.measure_kind,
      imposingParty: row.imposing_party,
      targetParties: row.target_parties,
      timeZone: row.time_zone,
    },
    agreement: row.agreement_id
      ? { id: row.agreement_id, code: codes.get(row.agreement_id) ?? null }
      : null,
  };
}
