import { Inject, Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@app/event-store';
import { aggregateIdOf } from '@app/trade';
import type { EntityManager } from 'typeorm';
import { chunks } from '../chunks';
import { MeasureFold, newEvents } from '../measure-fold';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';
import {
  reviseSuspensionEnds,
  suspensionEndRows,
  type Folded,
  type Revisions,
  type StreamRow,
} from './suspension-end-rows';

export const SUSPENSION_ENDS_PROJECTION = 'projection:suspension-ends';

/** Rows per statement: a rebuild's batches touch thousands of measures. */
const ROW_CHUNK = 5000;

/**
 * One row per (measure, suspension) with the suspension's current end after extensions, its
 * state (lifted ones stay, marked) and the measure it belongs to. Each measure's rows are
 * recomputed from the folded measure; a suspension that a retraction (which replays the history)
 * makes disappear keeps its last row, `retracted`, so that the calendar feed can cancel its
 * event, and a retraction of that retraction brings it back. Rows are never deleted.
 * Idempotent: events at or below a stream's stored version are skipped.
 *
 * Beside the rows each measure keeps only its version and its suspensions' revisions, not the
 * measure: a batch that resumes a stream has `MeasureFold` read it back from the event store.
 * A rebuild feeds whole streams, so it reads back only the stream a batch boundary cut, and
 * writes no copy of the measure. A batch costs one read, an upsert per chunk of rows and, when
 * it resumes streams, one update, however many streams.
 */
@Injectable()
export class SuspensionEndsProjection implements RebuildableProjection {
  readonly name = SUSPENSION_ENDS_PROJECTION;
  readonly batchSize = 1000;
  readonly tables = ['suspension_end_measures', 'suspension_ends'];
  /** Rows are folds of one stream each: a rebuild may go stream by stream. */
  readonly perStream = true;

  constructor(@Inject(MeasureFold) private readonly fold: MeasureFold) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      const id = aggregateIdOf(event.streamId);
      const streamEvents = byStream.get(id);
      if (streamEvents) streamEvents.push(event);
      else byStream.set(id, [event]);
    }
    if (!byStream.size) return;
    const stored = await this.load([...byStream.keys()], manager);
    const changed = new Map<string, Folded>();
    for (const [measureId, streamEvents] of byStream) {
      const before = stored.get(measureId);
      const fresh = newEvents(streamEvents, before?.version ?? 0);
      if (!fresh.length) continue;
      const folded = await this.fold.steps(measureId, { version: before?.version ?? 0 }, fresh);
      changed.set(measureId, reviseSuspensionEnds(before, folded.before, folded.steps));
    }
    if (changed.size) await this.save(changed, manager);
  }

  private async load(ids: string[], manager: EntityManager): Promise<Map<string, StreamRow>> {
    const rows: Array<{
      measure_id: string;
      revisions: Revisions;
      version: string;
      last_position: string;
    }> = await manager.query(
      `SELECT measure_id, revisions, version, last_position
         FROM suspension_end_measures WHERE measure_id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(
      rows.map((row) => [
        row.measure_id,
        {
          revisions: row.revisions,
          version: Number(row.version),
          lastPosition: Number(row.last_position),
        },
      ]),
    );
  }

  /**
   * `json_to_recordset`: rows are mostly plain columns, so their parameter is only taken apart,
   * and PostgreSQL need not build a jsonb tree of it first. A measure seen for the first time
   * has no rows to replace nor to bring to its version (a rebuild's usual case).
   */
  private async save(changed: Map<string, Folded>, manager: EntityManager): Promise<void> {
    const ids = [...changed.keys()];
    for (const part of chunks(ids, ROW_CHUNK)) {
      await manager.query(
        `INSERT INTO suspension_end_measures (measure_id, revisions, version, last_position)
         SELECT * FROM json_to_recordset($1::json)
           AS r(measure_id uuid, revisions jsonb, version bigint, last_position bigint)
         ON CONFLICT (measure_id) DO UPDATE SET revisions = EXCLUDED.revisions,
           version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
        [
          JSON.stringify(
            part.map((id) => {
              const stream = changed.get(id) as Folded;
              return {
                measure_id: id,
                revisions: stream.revisions,
                version: stream.version,
                last_position: stream.lastPosition,
              };
            }),
          ),
        ],
      );
    }
    const rows = ids.flatMap((id) => suspensionEndRows(id, changed.get(id) as Folded));
    for (const part of chunks(rows, ROW_CHUNK)) {
      await manager.query(
        `INSERT INTO suspension_ends (measure_id, suspension_id, measure_code, measure_title,
           measure_kind, imposing_party, target_parties, covered_parties, covered_at_end,
           time_zone, measure_revoked_at, state,
           starts_at, starts_when, ends_at, duration, part_points, agreement_id,
           reinstates_automatically, lifted_at, lapsed_at, extensions, sequence, changed_at,
           version, last_position)
         SELECT * FROM json_to_recordset($1::json) AS r(measure_id uuid, suspension_id uuid,
           measure_code text, measure_title text, measure_kind text, imposing_party text,
           target_parties text[], covered_parties text[], covered_at_end text[], time_zone text,
           measure_revoked_at timestamptz, state text,
           starts_at timestamptz, starts_when jsonb, ends_at timestamptz, duration text,
           part_points numeric, agreement_id uuid, reinstates_automatically boolean,
           lifted_at timestamptz, lapsed_at timestamptz, extensions integer, sequence integer,
           changed_at timestamptz, version bigint, last_position bigint)
         ON CONFLICT (measure_id, suspension_id) DO UPDATE SET
           measure_code = EXCLUDED.measure_code, measure_title = EXCLUDED.measure_title,
           measure_kind = EXCLUDED.measure_kind, imposing_party = EXCLUDED.imposing_party,
           target_parties = EXCLUDED.target_parties, covered_parties = EXCLUDED.covered_parties,
           covered_at_end = EXCLUDED.covered_at_end, time_zone = EXCLUDED.time_zone,
           measure_revoked_at = EXCLUDED.measure_revoked_at, state = EXCLUDED.state,
           starts_at = EXCLUDED.starts_at, starts_when = EXCLUDED.starts_when,
           ends_at = EXCLUDED.ends_at, duration = EXCLUDED.duration,
           part_points = EXCLUDED.part_points, agreement_id = EXCLUDED.agreement_id,
           reinstates_automatically = EXCLUDED.reinstates_automatically,
           lifted_at = EXCLUDED.lifted_at, lapsed_at = EXCLUDED.lapsed_at,
           extensions = EXCLUDED.extensions, sequence = EXCLUDED.sequence,
           changed_at = EXCLUDED.changed_at, version = EXCLUDED.version,
           last_position = EXCLUDED.last_position`,
        [JSON.stringify(part)],
      );
    }
    // Rows of suspensions withdrawn by earlier batches were not written again; they follow the
    // stream's version like the others, so that batches and a rebuild leave the same rows.
    const resumed = ids.filter((id) => changed.get(id)?.resumed);
    if (resumed.length) {
      await manager.query(
        `UPDATE suspension_ends e SET version = m.version, last_position = m.last_position
           FROM suspension_end_measures m
          WHERE e.measure_id = ANY($1::uuid[]) AND m.measure_id = e.measure_id
            AND e.version <> m.version`,
        [resumed],
      );
    }
  }
}
