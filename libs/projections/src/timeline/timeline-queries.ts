import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { EventStore, UpcasterRegistry } from '@app/event-store';
import { StreamCodeIndex } from '@app/trade';
import type { Pool } from 'pg';
import { CURSOR_KEYS, encodeCursor, readCursor } from '../cursor';
import { timelineEntryOf, timelineRowsOf } from './timeline-facts';

export interface TimelineQuery {
  /** Inclusive, on `effectiveAt`. */
  from?: Date;
  /** Exclusive, on `effectiveAt`. */
  to?: Date;
  /** Facts about measures or agreements this party imposes, is targeted by or is party to. */
  party?: string;
  /**
   * Absent: what the tracker knows now. Otherwise only facts recorded by then that count in the
   * stream as recorded by then: retractions recorded by then strike, unless themselves
   * retracted by then (a chain of any length).
   */
  knownAt?: Date;
  after?: string;
  limit: number;
}

interface TimelineRow {
  event_id: string;
  position: string;
  type: string;
  effective_at: Date;
  recorded_at: Date;
  measure_id: string | null;
  agreement_id: string | null;
  code: string | null;
  title: string;
  kind: string | null;
  imposing_party: string | null;
  parties: string[];
  subject_id: string | null;
  summary: string;
  /** The fact's payload as stored in the log, at `schema_version`. */
  payload: Record<string, unknown>;
  schema_version: number;
  actor: string | null;
  stream_id: string;
  /** With a past `knownAt` and a party: whether the stream gained events after `knownAt`. */
  changed_since: boolean | null;
}

/**
 * What changed in valid time, in order of `effectiveAt` (then of recording). A fact's payload is
 * not copied into the timeline: it is read from the event itself, found by its position (the
 * log's primary key), and upcast as the event store upcasts what it reads.
 */
@Injectable()
export class TimelineQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
    @Inject(UpcasterRegistry) private readonly upcasters: UpcasterRegistry,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

  /**
   * A party asked as known at a past `knownAt`: a fact's stored `parties` are those of the
   * stream as known now, and a scope amended or retracted since may have changed them. The
   * facts of streams that gained events after `knownAt` are therefore taken whatever their
   * `parties` say, and judged by the rows their stream as recorded by then gives (as the
   * projection would have written them then); pages are filled batch after batch.
   */
  async list(query: TimelineQuery) {
    const cursor = readCursor(query.after, CURSOR_KEYS.timeline);
    const judged = query.party !== undefined && query.knownAt !== undefined;
    const partiesThen = new Map<string, Promise<Map<string, string[]>>>();
    let after = cursor ? { at: cursor.at, position: cursor.keys[0] } : null;
    const rows: TimelineRow[] = [];
    for (;;) {
      const batch = await this.batch(query, judged, after);
      for (const row of batch) {
        if (judged && row.changed_since) {
          let known = partiesThen.get(row.stream_id);
          if (!known) {
            known = this.partiesKnownAt(row.stream_id, query.knownAt!);
            partiesThen.set(row.stream_id, known);
          }
          const parties = (await known).get(row.event_id);
          if (!parties?.includes(query.party!)) continue;
          row.parties = parties;
        }
        rows.push(row);
        if (rows.length > query.limit) break;
      }
      const last = batch.at(-1);
      if (rows.length > query.limit || batch.length <= query.limit || !last) break;
      after = { at: last.effective_at, position: last.position };
    }
    const page = rows.slice(0, query.limit);
    // A measure's fact may name the agreement it implements: its code lives in the code index.
    const unnamed = [...new Set(page.flatMap((row) => (row.measure_id && row.agreement_id) || []))];
    const codes = unnamed.length ? await this.codes.codesOf(unnamed) : new Map<string, string>();
    const last = page.at(-1);
    return {
      items: page.map((row) => ({
        eventId: row.event_id,
        position: Number(row.position),
        type: row.type,
        effectiveAt: row.effective_at.toISOString(),
        recordedAt: row.recorded_at.toISOString(),
        summary: row.summary,
        parties: row.parties,
        imposingParty: row.imposing_party,
        measure: row.measure_id
          ? { id: row.measure_id, code: row.code, title: row.title, kind: row.kind }
          : null,
        agreement: row.agreement_id
          ? row.measure_id
            ? { id: row.agreement_id, code: codes.get(row.agreement_id) ?? null }
            : { id: row.agreement_id, code: row.code, title: row.title }
          : null,
        subjectId: row.subject_id,
        actor: row.actor,
        // No retraction mark: a page holds only the facts that still stood at knownAt (a mark
        // from a retraction recorded later would tell what was not known then).
        data: this.upcasters.upcast(row.type, row.schema_version, row.payload).payload,
      })),
      nextCursor:
        rows.length > query.limit && last ? encodeCursor(last.effective_at, [last.position]) : null,
    };
  }

  private async batch(
    query: TimelineQuery,
    judged: boolean,
    after: { at: Date; position: string | number } | null,
  ): Promise<TimelineRow[]> {
    const { rows } = await this.pool.query<TimelineRow>(
      `SELECT f.*, e.payload, e.schema_version, k.changed_since
         FROM timeline_facts f JOIN events e ON e.position = f.position
        -- Asked once per fact, for the filter and for the answer.
        CROSS JOIN LATERAL (
          SELECT CASE WHEN $8 THEN EXISTS (SELECT 1 FROM events c
                                            WHERE c.stream_id = f.stream_id AND c.recorded_at > $4)
                 END AS changed_since) k
        WHERE ($1::timestamptz IS NULL OR f.effective_at >= $1)
          AND ($2::timestamptz IS NULL OR f.effective_at < $2)
          AND ($3::text IS NULL OR f.parties @> ARRAY[$3] OR k.changed_since)
          AND CASE WHEN $4::timestamptz IS NULL THEN f.retracted_by IS NULL
                   ELSE f.recorded_at <= $4 AND NOT (f.retracted_during @> $4::timestamptz) END
          AND ($5::timestamptz IS NULL OR (f.effective_at, f.position) > ($5, $6::bigint))
        ORDER BY f.effective_at, f.position
        LIMIT $7`,
      [
        query.from ?? null,
        query.to ?? null,
        query.party ?? null,
        query.knownAt ?? null,
        after?.at ?? null,
        after?.position ?? null,
        query.limit + 1,
        judged,
      ],
    );
    return rows;
  }

  /** The parties of each fact of a stream as its rows would have said at `knownAt`. */
  private async partiesKnownAt(streamId: string, knownAt: Date): Promise<Map<string, string[]>> {
    const events = await this.store.readStream(streamId);
    const known = events.filter((event) => event.recordedAt.getTime() <= knownAt.getTime());
    const rows = timelineRowsOf(streamId, known.map(timelineEntryOf));
    return new Map(rows.map((row) => [row.event_id, row.parties]));
  }
}
