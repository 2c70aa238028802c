import { Injectable } from '@nestjs/common';
import {
  evolveAgreement,
  initialAgreementState,
  type AgreementEvent,
  type AgreementState,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';

export const AGREEMENT_STATUS_PROJECTION = 'projection:agreement-status';

interface StoredRow {
  state: AgreementState;
  version: number;
}

/**
 * Folds each agreement stream into one row; replayed events (version ≤ row's) are skipped. A
 * batch costs one read and one upsert, however many streams it touches.
 */
@Injectable()
export class AgreementStatusProjection implements RebuildableProjection {
  readonly name = AGREEMENT_STATUS_PROJECTION;
  readonly batchSize = 1000;
  readonly tables = ['agreement_status'];
  /** A row is one stream's fold: a rebuild may go stream by stream. */
  readonly perStream = true;

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('agreement-')) continue;
      const agreementId = aggregateIdOf(event.streamId);
      const streamEvents = byStream.get(agreementId);
      if (streamEvents) streamEvents.push(event);
      else byStream.set(agreementId, [event]);
    }
    if (!byStream.size) return;
    const rows: { agreement_id: string; state: AgreementState; version: string }[] =
      await manager.query(
        `SELECT agreement_id, state, version FROM agreement_status
          WHERE agreement_id = ANY($1::uuid[])`,
        [[...byStream.keys()]],
      );
    const stored = new Map<string, StoredRow>(
      rows.map((row) => [row.agreement_id, { state: row.state, version: Number(row.version) }]),
    );
    const changed = [...byStream].flatMap(([agreementId, streamEvents]) => {
      const row = fold(agreementId, stored.get(agreementId), streamEvents);
      return row ? [row] : [];
    });
    if (!changed.length) return;
    await manager.query(
      `INSERT INTO agreement_status (agreement_id, code, title, parties, concluded_at, state,
                                     version, last_position)
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(agreement_id uuid, code text, title text,
         parties text[], concluded_at timestamptz, state jsonb, version bigint,
         last_position bigint)
       ON CONFLICT (agreement_id) DO UPDATE SET
         code = EXCLUDED.code, title = EXCLUDED.title, parties = EXCLUDED.parties,
         concluded_at = EXCLUDED.concluded_at, state = EXCLUDED.state,
         version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
      [JSON.stringify(changed)],
    );
  }
}

/** The stream's row after its new events; undefined when all of them were applied already. */
function fold(agreementId: string, stored: StoredRow | undefined, events: RecordedEvent[]) {
  let state = stored?.state ?? initialAgreementState();
  let version = stored?.version ?? 0;
  let lastPosition = 0;
  for (const event of events) {
    if (event.version <= version) continue;
    state = evolveAgreement(state, toDomainEvent<AgreementEvent>(event));
    version = event.version;
    lastPosition = event.position;
  }
  if (!lastPosition) return undefined;
  const agreement = state.agreement;
  return {
    agreement_id: agreementId,
    code: agreement?.code ?? null,
    title: agreement?.title ?? null,
    parties: agreement?.parties ?? [],
    concluded_at: agreement?.concludedAt ?? null,
    state,
    version,
    last_position: lastPosition,
  };
}
