import { Inject, Injectable } from '@nestjs/common';
import { coveredPartiesOf, type Measure, type MeasureEvent } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import { type FoldedMeasure, MeasureFold, newEvents, type StoredMeasure } from '../measure-fold';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';
import {
  agreementsOf,
  searchTextOf,
  summaryValidity,
  toListEntry,
  toMeasureSummary,
} from './measure-view';

export const MEASURE_STATUS_PROJECTION = 'projection:measure-status';

/** Rows per upsert statement: a rebuild's batches touch tens of thousands of measures. */
const WRITE_CHUNK = 2000;

/**
 * Folds each measure stream into one row: the measure (valid-time status on any date is computed
 * from it on read) and the columns lists filter on. Idempotent: an event at or below the row's
 * version was applied already (a replayed batch after a crash) and is skipped. A batch costs one
 * read and one upsert per chunk of rows, however many streams it touches.
 */
@Injectable()
export class MeasureStatusProjection implements RebuildableProjection {
  readonly name = MEASURE_STATUS_PROJECTION;
  readonly batchSize = 1000;
  readonly tables = ['measure_status'];
  /** A row is one stream's fold: a rebuild may go stream by stream. */
  readonly perStream = true;

  constructor(@Inject(MeasureFold) private readonly fold: MeasureFold) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      const measureId = aggregateIdOf(event.streamId);
      const streamEvents = byStream.get(measureId);
      if (streamEvents) streamEvents.push(event);
      else byStream.set(measureId, [event]);
    }
    if (!byStream.size) return;
    const stored = await this.load([...byStream.keys()], manager);
    const changed: unknown[] = [];
    for (const [measureId, streamEvents] of byStream) {
      const before = stored.get(measureId);
      const folded = await this.fold.apply(measureId, before, streamEvents);
      if (!folded) continue;
      const linkedTo = linkedToAfter(before, newEvents(streamEvents, before?.version ?? 0));
      changed.push(toRow(measureId, folded, linkedTo));
    }
    for (let from = 0; from < changed.length; from += WRITE_CHUNK) {
      await this.save(changed.slice(from, from + WRITE_CHUNK), manager);
    }
  }

  private async load(ids: string[], manager: EntityManager): Promise<Map<string, StoredRow>> {
    const rows: {
      measure_id: string;
      measure: Measure | null;
      version: string;
      linked_to: string[];
    }[] = await manager.query(
      `SELECT measure_id, measure, version, linked_to FROM measure_status
        WHERE measure_id = ANY($1::uuid[])`,
      [ids],
    );
    return new Map(
      rows.map((row) => [
        row.measure_id,
        { measure: row.measure, version: Number(row.version), linkedTo: row.linked_to },
      ]),
    );
  }

  /** `json_to_recordset`: the rows go in as text, never converted to jsonb and back. */
  private async save(rows: unknown[], manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO measure_status (measure_id, code, title, kind, imposing_party, target_parties,
                                   covered_parties, agreement_ids, responds_to, linked_to, search, measure, list_entry, list_item,
                                   list_item_from, list_item_until, version, last_position)
       SELECT * FROM json_to_recordset($1::json) AS r(measure_id uuid, code text, title text,
         kind text, imposing_party text, target_parties text[], covered_parties text[],
         agreement_ids text[],
         responds_to text[], linked_to text[], search text, measure json, list_entry json,
         list_item json,
         list_item_from timestamptz, list_item_until timestamptz, version bigint,
         last_position bigint)
       ON CONFLICT (measure_id) DO UPDATE SET
         code = EXCLUDED.code, title = EXCLUDED.title, kind = EXCLUDED.kind,
         imposing_party = EXCLUDED.imposing_party, target_parties = EXCLUDED.target_parties,
         covered_parties = EXCLUDED.covered_parties,
         agreement_ids = EXCLUDED.agreement_ids, responds_to = EXCLUDED.responds_to,
         linked_to = EXCLUDED.linked_to,
         search = EXCLUDED.search, measure = EXCLUDED.measure, list_entry = EXCLUDED.list_entry,
         list_item = EXCLUDED.list_item, list_item_from = EXCLUDED.list_item_from,
         list_item_until = EXCLUDED.list_item_until,
         version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
      [JSON.stringify(rows)],
    );
  }
}

/** A stored row as a fold resumes it, with the measures its stream ever linked it to. */
interface StoredRow extends StoredMeasure {
  linkedTo: string[];
}

/**
 * Every measure a `CountermeasureLinked` of the stream named, the links retracted since too: as
 * known before a retraction the link stood, and the countermeasures of a measure as known then
 * are looked for among the rows that name it here (`responds_to` names only the links that
 * stand now).
 */
function linkedToAfter(stored: StoredRow | undefined, fresh: readonly RecordedEvent[]): string[] {
  const linked = new Set(stored?.linkedTo);
  for (const recorded of fresh) {
    const event = toDomainEvent<MeasureEvent>(recorded);
    if (event.type === 'CountermeasureLinked') linked.add(event.data.respondsTo);
  }
  return [...linked].sort();
}

function toRow(
  measureId: string,
  { measure, version, lastPosition }: FoldedMeasure,
  linkedTo: string[],
) {
  const entry = measure && toListEntry(measure);
  // The list item as of now, good for as long as the measure's status cannot change: lists on
  // a date inside that span send it as stored, without computing it again.
  const now = new Date();
  const validity = entry && summaryValidity(entry, now);
  return {
    measure_id: measureId,
    code: measure?.code ?? null,
    title: measure?.title ?? null,
    kind: measure?.kind ?? null,
    imposing_party: measure?.imposingParty ?? null,
    target_parties: measure?.targetParties ?? [],
    covered_parties: coveredPartiesOf(measure),
    agreement_ids: agreementsOf(measure),
    responds_to: measure?.respondsTo ?? [],
    linked_to: linkedTo,
    search: searchTextOf(measure),
    measure,
    list_entry: entry,
    list_item: entry && toMeasureSummary(entry, now, version),
    list_item_from: validity?.from ?? null,
    list_item_until: validity?.until ?? null,
    version,
    last_position: lastPosition,
  };
}
