import { Injectable } from '@nestjs/common';
import type { RecordedEvent } from '@app/event-store';
import { toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import { chunks } from '../chunks';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';
import { timelineRowsOf, type TimelineEntry } from './timeline-facts';

export const TIMELINE_PROJECTION = 'projection:timeline';

/** Statement sizes for a rebuild's large batches: streams carry their events, rows are small. */
const STREAM_CHUNK = 500;
const ROW_CHUNK = 2000;

interface StoredStream {
  entries: TimelineEntry[];
  version: number;
  lastPosition: number;
}

/**
 * The valid-time timeline. Each measure and agreement stream keeps its events beside its rows;
 * a batch appends the new ones (skipping those at or below the stored version, so replays are
 * harmless) and recomputes the stream's rows, which is how a retraction strikes the fact it
 * names and the facts that depended on it. A batch costs one read, one delete and an insert
 * per chunk, however many streams it touches.
 */
@Injectable()
export class TimelineProjection implements RebuildableProjection {
  readonly name = TIMELINE_PROJECTION;
  readonly batchSize = 1000;
  readonly tables = ['timeline_streams', 'timeline_facts'];
  /** Rows are folds of one stream each: a rebuild may go stream by stream. */
  readonly perStream = true;

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-') && !event.streamId.startsWith('agreement-')) {
        continue;
      }
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    if (!byStream.size) return;
    const stored = await this.load([...byStream.keys()], manager);
    const changed = new Map<string, StoredStream>();
    for (const [streamId, streamEvents] of byStream) {
      const before = stored.get(streamId) ?? { entries: [], version: 0, lastPosition: 0 };
      const fresh = streamEvents.filter((event) => event.version > before.version);
      // Within a batch a stream's events come in version order; a duplicate may repeat one.
      const added: RecordedEvent[] = [];
      for (const event of fresh) {
        if (event.version > (added.at(-1)?.version ?? before.version)) added.push(event);
      }
      if (!added.length) continue;
      changed.set(streamId, {
        entries: [
          ...before.entries,
          ...added.map((event) => ({
            event: toDomainEvent(event),
            version: event.version,
            position: event.position,
            recordedAt: event.recordedAt.toISOString(),
          })),
        ],
        version: added[added.length - 1].version,
        lastPosition: added[added.length - 1].position,
      });
    }
    if (changed.size) await this.save(changed, manager);
  }

  private async load(streamIds: string[], manager: EntityManager) {
    const rows: Array<{
      stream_id: string;
      entries: TimelineEntry[];
      version: string;
      last_position: string;
    }> = await manager.query(
      `SELECT stream_id, entries, version, last_position FROM timeline_streams
        WHERE stream_id = ANY($1::text[])`,
      [streamIds],
    );
    return new Map<string, StoredStream>(
      rows.map((row) => [
        row.stream_id,
        {
          entries: row.entries,
          version: Number(row.version),
          lastPosition: Number(row.last_position),
        },
      ]),
    );
  }

  private async save(changed: Map<string, StoredStream>, manager: EntityManager): Promise<void> {
    const streamIds = [...changed.keys()];
    for (const part of chunks(streamIds, STREAM_CHUNK)) {
      await manager.query(
        `INSERT INTO timeline_streams (stream_id, entries, version, last_position)
           SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS r(stream_id text, entries jsonb, version bigint, last_position bigint)
           ON CONFLICT (stream_id) DO UPDATE SET entries = EXCLUDED.entries,
           version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
        [
          JSON.stringify(
            part.map((streamId) => {
              const stream = changed.get(streamId) as StoredStream;
              return {
                stream_id: streamId,
                entries: stream.entries,
                version: stream.version,
                last_position: stream.lastPosition,
              };
            }),
          ),
        ],
      );
    }
    await manager.query('DELETE FROM timeline_facts WHERE stream_id = ANY($1::text[])', [
      streamIds,
    ]);
    const rows = streamIds.flatMap((streamId) =>
      timelineRowsOf(streamId, (changed.get(streamId) as StoredStream).entries),
    );
    for (const part of chunks(rows, ROW_CHUNK)) {
      await manager.query(
        `INSERT INTO timeline_facts (event_id, stream_id, version, position, type, effective_at,
           recorded_at, measure_id, agreement_id, code, title, kind, imposing_party, parties,
           subject_id, summary, data, actor, retracted_by, retracted_at)
         SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(event_id uuid, stream_id text,
           version bigint, position bigint, type text, effective_at timestamptz,
           recorded_at timestamptz, measure_id uuid, agreement_id uuid, code text, title text,
           kind text, imposing_party text, parties text[], subject_id text, summary text,
           data jsonb, actor text, retracted_by uuid, retracted_at timestamptz)`,
        [JSON.stringify(part)],
      );
    }
  }
}
