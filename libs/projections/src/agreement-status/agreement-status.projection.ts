import { Injectable } from '@nestjs/common';
import {
  evolveAgreement,
  initialAgreementState,
  type AgreementEvent,
  type AgreementState,
} from '@app/domain';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';

export const AGREEMENT_STATUS_PROJECTION = 'projection:agreement-status';

/** Folds each agreement stream into one row; replayed events (version ≤ row's) are skipped. */
@Injectable()
export class AgreementStatusProjection implements SubscriptionHandler {
  readonly name = AGREEMENT_STATUS_PROJECTION;
  readonly batchSize = 1000;

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const event of events) {
      if (!event.streamId.startsWith('agreement-')) continue;
      const agreementId = aggregateIdOf(event.streamId);
      const rows: { state: AgreementState; version: string }[] = await manager.query(
        'SELECT state, version FROM agreement_status WHERE agreement_id = $1',
        [agreementId],
      );
      if (rows[0] && event.version <= Number(rows[0].version)) continue;
      const state = evolveAgreement(
        rows[0]?.state ?? initialAgreementState(),
        toDomainEvent<AgreementEvent>(event),
      );
      const agreement = state.agreement;
      await manager.query(
        `INSERT INTO agreement_status (agreement_id, code, title, parties, concluded_at, state,
                                       version, last_position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (agreement_id) DO UPDATE SET
           code = EXCLUDED.code, title = EXCLUDED.title, parties = EXCLUDED.parties,
           concluded_at = EXCLUDED.concluded_at, state = EXCLUDED.state,
           version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
        [
          agreementId,
          agreement?.code ?? null,
          agreement?.title ?? null,
          agreement?.parties ?? [],
          agreement?.concludedAt ?? null,
          JSON.stringify(state),
          event.version,
          event.position,
        ],
      );
    }
  }
}
