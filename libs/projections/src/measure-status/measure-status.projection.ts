import { Injectable } from '@nestjs/common';
import {
  evolveMeasure,
  initialMeasureState,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';

export const MEASURE_STATUS_PROJECTION = 'projection:measure-status';

/**
 * Folds each measure stream into one row. Idempotent: an event at or below the row's version
 * was applied already (a replayed batch after a crash) and is skipped.
 */
@Injectable()
export class MeasureStatusProjection implements SubscriptionHandler {
  readonly name = MEASURE_STATUS_PROJECTION;
  readonly batchSize = 1000;

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    for (const [streamId, streamEvents] of byStream) {
      await this.apply(aggregateIdOf(streamId), streamEvents, manager);
    }
  }

  private async apply(measureId: string, events: RecordedEvent[], manager: EntityManager) {
    const rows: { state: MeasureState; version: string }[] = await manager.query(
      'SELECT state, version FROM measure_status WHERE measure_id = $1',
      [measureId],
    );
    let state = rows[0]?.state ?? initialMeasureState();
    let version = Number(rows[0]?.version ?? 0);
    let lastPosition = 0;
    for (const event of events) {
      if (event.version <= version) continue;
      state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
      version = event.version;
      lastPosition = event.position;
    }
    if (!lastPosition) return;
    const measure = state.measure;
    const agreements = [
      ...new Set((measure?.suspensions ?? []).flatMap((s) => (s.agreement ? [s.agreement] : []))),
    ];
    await manager.query(
      `INSERT INTO measure_status (measure_id, code, title, kind, imposing_party, target_parties,
                                   agreement_ids, responds_to, search, state, version, last_position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (measure_id) DO UPDATE SET
         code = EXCLUDED.code, title = EXCLUDED.title, kind = EXCLUDED.kind,
         imposing_party = EXCLUDED.imposing_party, target_parties = EXCLUDED.target_parties,
         agreement_ids = EXCLUDED.agreement_ids, responds_to = EXCLUDED.responds_to, search = EXCLUDED.search, state = EXCLUDED.state,
         version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
      [
        measureId,
        measure?.code ?? null,
        measure?.title ?? null,
        measure?.kind ?? null,
        measure?.imposingParty ?? null,
        measure?.targetParties ?? [],
        agreements,
        measure?.respondsTo ?? [],
        [measure?.code, measure?.title, measure?.summary, measure?.instrument, measure?.legalBasis]
          .filter(Boolean)
          .join(' ')
          .toLowerCase(),
        JSON.stringify(state),
        version,
        lastPosition,
      ],
    );
  }
}
