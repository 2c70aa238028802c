import { Injectable } from '@nestjs/common';
import {
  evolveMeasure,
  initialMeasureState,
  type Measure,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import { chunks } from '../chunks';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';

export const SUSPENSION_ENDS_PROJECTION = 'projection:suspension-ends';

/** Statement sizes for a rebuild's large batches: folded states are big, rows small. */
const STATE_CHUNK = 500;
const ROW_CHUNK = 2000;

/** How often a suspension's row changed, and when last: the calendar's SEQUENCE and DTSTAMP. */
type Revisions = Record<string, { sequence: number; changedAt: string }>;

interface StreamRow {
  state: MeasureState;
  revisions: Revisions;
  version: number;
  lastPosition: number;
}

/** What a suspension-end row says, before its revision and stream bookkeeping. */
type EndContent = ReturnType<typeof contentOf>;

/**
 * One row per (measure, suspension) with the suspension's current end after extensions, its
 * state (lifted ones stay, marked) and the measure it belongs to. Each measure's rows are
 * recomputed from its folded state, so a retraction (which replays the history) simply makes a
 * suspension disappear. Idempotent: events at or below a stream's stored version are skipped.
 * A batch costs one read, one delete and an insert per chunk of rows, however many streams.
 */
@Injectable()
export class SuspensionEndsProjection implements RebuildableProjection {
  readonly name = SUSPENSION_ENDS_PROJECTION;
  readonly batchSize = 1000;
  readonly tables = ['suspension_end_measures', 'suspension_ends'];
  /** Rows are folds of one stream each: a rebuild may go stream by stream. */
  readonly perStream = true;

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      const id = aggregateIdOf(event.streamId);
      byStream.set(id, [...(byStream.get(id) ?? []), event]);
    }
    if (!byStream.size) return;
    const ids = [...byStream.keys()];
    const stored = await this.load(ids, manager);
    const changed = new Map<string, StreamRow>();
    for (const [measureId, streamEvents] of byStream) {
      const next = fold(stored.get(measureId), streamEvents);
      if (next) changed.set(measureId, next);
    }
    if (changed.size) await this.save(changed, manager);
  }

  private async load(ids: string[], manager: EntityManager): Promise<Map<string, StreamRow>> {
    const rows: Array<{
      measure_id: string;
      state: MeasureState;
      revisions: Revisions;
      version: string;
      last_position: string;
    }> = await manager.query(
      `SELECT measure_id, state, revisions, version, last_position
         FROM suspension_end_measures WHERE measure_id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(
      rows.map((row) => [
        row.measure_id,
        {
          state: row.state,
          revisions: row.revisions,
          version: Number(row.version),
          lastPosition: Number(row.last_position),
        },
      ]),
    );
  }

  private async save(changed: Map<string, StreamRow>, manager: EntityManager): Promise<void> {
    const ids = [...changed.keys()];
    for (const part of chunks(ids, STATE_CHUNK)) {
      await manager.query(
        `INSERT INTO suspension_end_measures (measure_id, state, revisions, version, last_position)
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS r(measure_id uuid, state jsonb, revisions jsonb, version bigint, last_position bigint)
         ON CONFLICT (measure_id) DO UPDATE SET
           state = EXCLUDED.state, revisions = EXCLUDED.revisions,
           version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
        [
          JSON.stringify(
            part.map((id) => {
              const stream = changed.get(id) as StreamRow;
              return {
                measure_id: id,
                state: stream.state,
                revisions: stream.revisions,
                version: stream.version,
                last_position: stream.lastPosition,
              };
            }),
          ),
        ],
      );
    }
    await manager.query('DELETE FROM suspension_ends WHERE measure_id = ANY($1::uuid[])', [ids]);
    const rows = ids.flatMap((id) => rowsOf(id, changed.get(id) as StreamRow));
    for (const part of chunks(rows, ROW_CHUNK)) {
      await manager.query(
        `INSERT INTO suspension_ends (measure_id, suspension_id, measure_code, measure_title,
           measure_kind, imposing_party, target_parties, time_zone, measure_revoked_at, state,
           starts_at, starts_when, ends_at, duration, part_points, agreement_id,
           reinstates_automatically, lifted_at, lapsed_at, extensions, sequence, changed_at,
           version, last_position)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(measure_id uuid, suspension_id uuid,
           measure_code text, measure_title text, measure_kind text, imposing_party text,
           target_parties text[], time_zone text, measure_revoked_at timestamptz, state text,
           starts_at timestamptz, starts_when jsonb, ends_at timestamptz, duration text,
           part_points numeric, agreement_id uuid, reinstates_automatically boolean,
           lifted_at timestamptz, lapsed_at timestamptz, extensions integer, sequence integer,
           changed_at timestamptz, version bigint, last_position bigint)`,
        [JSON.stringify(part)],
      );
    }
  }
}

/** Applies a stream's new events; undefined when all of them had been applied already. */
function fold(stored: StreamRow | undefined, events: RecordedEvent[]): StreamRow | undefined {
  let state = stored?.state ?? initialMeasureState();
  let version = stored?.version ?? 0;
  let lastPosition = stored?.lastPosition ?? 0;
  const revisions: Revisions = { ...stored?.revisions };
  let before = contentsOf(state.measure);
  let applied = false;
  for (const event of events) {
    if (event.version <= version) continue;
    state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
    version = event.version;
    lastPosition = event.position;
    applied = true;
    // Revisions are counted event by event, so that however the log is cut into batches (a
    // rebuild in one pass or the worker's small batches) every suspension ends with the same.
    const after = contentsOf(state.measure);
    const changedAt = event.recordedAt.toISOString();
    for (const [suspensionId, content] of after) {
      const revision = revisions[suspensionId];
      if (!revision) revisions[suspensionId] = { sequence: 0, changedAt };
      else if (before.get(suspensionId) !== content) {
        revisions[suspensionId] = { sequence: revision.sequence + 1, changedAt };
      }
    }
    before = after;
  }
  return applied ? { state, revisions, version, lastPosition } : undefined;
}

/** Each suspension's content, serialized for comparison. */
function contentsOf(measure: Measure | null): Map<string, string> {
  return new Map(
    (measure?.suspensions ?? []).map((s) => [
      s.id,
      JSON.stringify(contentOf(measure as Measure, s.id)),
    ]),
  );
}

function contentOf(measure: Measure, suspensionId: string) {
  const s = measure.suspensions.find((suspension) => suspension.id === suspensionId);
  if (!s) throw new Error(`No suspension ${suspensionId}`);
  return {
    measure_code: measure.code ?? null,
    measure_title: measure.title,
    measure_kind: measure.kind,
    imposing_party: measure.imposingParty,
    target_parties: measure.targetParties,
    time_zone: measure.timeZone,
    measure_revoked_at: measure.revokedAt ?? null,
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

function rowsOf(measureId: string, stream: StreamRow) {
  const measure = stream.state.measure;
  if (!measure) return [];
  return measure.suspensions.map((s) => {
    const content: EndContent = contentOf(measure, s.id);
    const revision = stream.revisions[s.id];
    return {
      measure_id: measureId,
      suspension_id: s.id,
      ...content,
      sequence: revision.sequence,
      changed_at: revision.changedAt,
      version: stream.version,
      last_position: stream.lastPosition,
    };
  });
}
