import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isDomainError, type Source } from '@app/domain';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import type { EntityManager } from 'typeorm';
import { ExecuteMeasureAction } from '../measures/execute-measure-action.command';
import { aggregateIdOf } from '../trade.streams';
import type { WriteResult } from '../write/write-options';

interface Scheduled {
  suspensionId: string;
  startsWhen?: { measure: string; suspension: string };
}
interface Started {
  suspensionId: string;
  startsAt: string;
  sources: Source[];
}

/**
 * "Once the US suspension takes effect": when suspension S of measure M starts, every
 * suspension scheduled to start when S does is started at the same instant.
 *
 * It follows the committed log. The waits it learns from SuspensionScheduled live in a table
 * written in the same transaction as its checkpoint. The start it issues is a command with a
 * deterministic id, so a replay after a crash (append done, checkpoint not) appends nothing new.
 */
@Injectable()
export class ConditionalSuspensionStarter implements SubscriptionHandler {
  readonly name = 'conditional-suspension-starter';

  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      if (event.type === 'SuspensionScheduled') {
        await this.rememberWait(
          aggregateIdOf(event.streamId),
          event.payload as unknown as Scheduled,
          manager,
        );
      } else if (event.type === 'SuspensionStarted') {
        await this.startWaiting(event, manager);
      }
    }
  }

  private async rememberWait(measureId: string, scheduled: Scheduled, manager: EntityManager) {
    if (!scheduled.startsWhen) return;
    await manager.query(
      `INSERT INTO suspension_waits (trigger_measure_id, trigger_suspension_id, measure_id, suspension_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [
        scheduled.startsWhen.measure,
        scheduled.startsWhen.suspension,
        measureId,
        scheduled.suspensionId,
      ],
    );
  }

  private async startWaiting(event: RecordedEvent, manager: EntityManager) {
    const started = event.payload as unknown as Started;
    const waiting: { measure_id: string; suspension_id: string }[] = await manager.query(
      `SELECT measure_id, suspension_id FROM suspension_waits
        WHERE trigger_measure_id = $1 AND trigger_suspension_id = $2`,
      [aggregateIdOf(event.streamId), started.suspensionId],
    );
    for (const wait of waiting) {
      try {
        await this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
          new ExecuteMeasureAction(
            wait.measure_id,
            {
              action: 'start-suspension',
              suspensionId: wait.suspension_id,
              startsAt: started.startsAt,
              sources: started.sources,
            },
            {
              actor: 'system',
              commandId: `start-suspension:${wait.measure_id}:${wait.suspension_id}`,
              causationId: event.eventId,
            },
          ),
        );
      } catch (error) {
        // Started by hand meanwhile, or no longer there (retracted): nothing left to do.
        const settled =
          isDomainError(error) &&
          ['suspension-already-started', 'suspension-not-found', 'measure-not-found'].includes(
            error.code,
          );
        if (!settled) throw error;
      }
    }
  }
}
