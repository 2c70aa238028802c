import { Inject, Injectable } from '@nestjs/common';
import type { Measure, Suspension } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { aggregateIdOf } from '@app/trade';
import type { EntityManager } from 'typeorm';
import { chunks } from '../chunks';
import { type FoldStep, MeasureFold, newEvents } from '../measure-fold';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';

export const SUSPENSION_ENDS_PROJECTION = 'projection:suspension-ends';

/** Rows per statement: a rebuild's batches touch thousands of measures. */
const ROW_CHUNK = 5000;

/** How often a suspension's row changed, and when last: the calendar's SEQUENCE and DTSTAMP. */
type Revisions = Record<string, { sequence: number; changedAt: string }>;

interface StreamRow {
  revisions: Revisions;
  version: number;
  lastPosition: number;
}

interface Folded extends StreamRow {
  measure: Measure | null;
  /** Whether the measure had rows already, which its new rows replace. */
  resumed: boolean;
}

/**
 * One row per (measure, suspension) with the suspension's current end after extensions, its
 * state (lifted ones stay, marked) and the measure it belongs to. Each measure's rows are
 * recomputed from the folded measure, so a retraction (which replays the history) simply makes
 * a suspension disappear. Idempotent: events at or below a stream's stored version are skipped.
 *
 * Beside the rows each measure keeps only its version and its suspensions' revisions, not the
 * measure: a batch that resumes a stream has `MeasureFold` read it back from the event store.
 * A rebuild feeds whole streams, so it reads back only the stream a batch boundary cut, and
 * writes no copy of the measure. A batch costs one read, one delete and an insert per chunk of
 * rows, however many streams.
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
      changed.set(measureId, revise(before, folded.before, folded.steps));
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
   * has no rows to delete (a rebuild's usual case).
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
    const resumed = ids.filter((id) => changed.get(id)?.resumed);
    if (resumed.length) {
      await manager.query('DELETE FROM suspension_ends WHERE measure_id = ANY($1::uuid[])', [
        resumed,
      ]);
    }
    const rows = ids.flatMap((id) => rowsOf(id, changed.get(id) as Folded));
    for (const part of chunks(rows, ROW_CHUNK)) {
      await manager.query(
        `INSERT INTO suspension_ends (measure_id, suspension_id, measure_code, measure_title,
           measure_kind, imposing_party, target_parties, time_zone, measure_revoked_at, state,
           starts_at, starts_when, ends_at, duration, part_points, agreement_id,
           reinstates_automatically, lifted_at, lapsed_at, extensions, sequence, changed_at,
           version, last_position)
         SELECT * FROM json_to_recordset($1::json) AS r(measure_id uuid, suspension_id uuid,
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

/**
 * The stream's revisions after its new events. They are counted event by event, so that however
 * the log is cut into batches (a rebuild in one pass or the worker's small batches) every
 * suspension ends with the same.
 */
function revise(stored: StreamRow | undefined, before: Measure | null, steps: FoldStep[]): Folded {
  const revisions: Revisions = { ...stored?.revisions };
  let previous = contentsOf(before, undefined);
  for (const { event, measure } of steps) {
    const current = contentsOf(measure, previous);
    const changedAt = event.recordedAt.toISOString();
    for (const [suspensionId, { content }] of current.suspensions) {
      const revision = revisions[suspensionId];
      if (!revision) revisions[suspensionId] = { sequence: 0, changedAt };
      else if (previous.suspensions.get(suspensionId)?.content !== content) {
        revisions[suspensionId] = { sequence: revision.sequence + 1, changedAt };
      }
    }
    previous = current;
  }
  const last = steps[steps.length - 1].event;
  return {
    measure: steps[steps.length - 1].measure,
    revisions,
    version: last.version,
    lastPosition: last.position,
    resumed: stored !== undefined,
  };
}

/** Each suspension's row content, serialized for comparison. */
interface Contents {
  header: string;
  suspensions: Map<string, { suspension: Suspension; content: string }>;
}

/**
 * `measure`'s contents. Evolve keeps the objects of suspensions an event did not touch, so a
 * suspension that is the same object under the same measure header keeps its serialized content
 * from `previous` instead of being serialized again at every event.
 */
function contentsOf(measure: Measure | null, previous: Contents | undefined): Contents {
  if (!measure) return { header: '', suspensions: new Map() };
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
  return { header, suspensions };
}

/** The columns a row takes from its measure. */
function headerOf(measure: Measure) {
  return {
    measure_code: measure.code ?? null,
    measure_title: measure.title,
    measure_kind: measure.kind,
    imposing_party: measure.imposingParty,
    target_parties: measure.targetParties,
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

function rowsOf(measureId: string, stream: Folded) {
  const { measure } = stream;
  if (!measure) return [];
  const header = headerOf(measure);
  return measure.suspensions.map((s) => {
    const revision = stream.revisions[s.id];
    return {
      measure_id: measureId,
      suspension_id: s.id,
      ...header,
      ...suspensionOf(s),
      sequence: revision.sequence,
      changed_at: revision.changedAt,
      version: stream.version,
      last_position: stream.lastPosition,
    };
  });
}
