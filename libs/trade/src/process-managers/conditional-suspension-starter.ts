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
interface Start {
  measureId: string;
  suspensionId: string;
  startsAt: string;
  sources: Source[];
  causationId: string;
}

/**
 * "Once the US suspension takes effect": when suspension S of measure M starts, every
 * suspension scheduled to start when S does is started at the same instant.
 *
 * It follows the committed log and remembers, in tables written in the same transaction as its
 * checkpoint, who waits for whom and what has started — a wait can be committed after its
 * trigger started (decided before, committed after), and is then started at once. The start it
 * issues is a command with a deterministic id, so a replay after a crash (append done,
 * checkpoint not) appends nothing new.
 */
@Injectable()
export class ConditionalSuspensionStarter implements SubscriptionHandler {
  readonly name = 'conditional-suspension-starter';

  constructor(@Inject(CommandBus) private readonly commandBus: CommandBus) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      const measureId = aggregateIdOf(event.streamId);
      if (event.type === 'SuspensionScheduled') {
        await this.onScheduled(measureId, event, manager);
      } else if (event.type === 'SuspensionStarted') {
        await this.onStarted(measureId, event, manager);
      } else if (event.type === 'EventRetracted') {
        // A start found to be wrong no longer starts what waits for it.
        await manager.query('DELETE FROM suspension_starts WHERE event_id = $1', [
          String(event.payload.eventId),
        ]);
      }
    }
  }

  private async onScheduled(measureId: string, event: RecordedEvent, manager: EntityManager) {
    const scheduled = event.payload as unknown as Scheduled;
    if (!scheduled.startsWhen) return;
    const { measure, suspension } = scheduled.startsWhen;
    await manager.query(
      `INSERT INTO suspension_waits (trigger_measure_id, trigger_suspension_id, measure_id, suspension_id)
       VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [measure, suspension, measureId, scheduled.suspensionId],
    );
    const started: { starts_at: string; sources: Source[] }[] = await manager.query(
      'SELECT starts_at, sources FROM suspension_starts WHERE measure_id = $1 AND suspension_id = $2',
      [measure, suspension],
    );
    if (started.length) {
      await this.start({
        measureId,
        suspensionId: scheduled.suspensionId,
        startsAt: started[0].starts_at,
        sources: started[0].sources,
        causationId: event.eventId,
      });
    }
  }

  private async onStarted(measureId: string, event: RecordedEvent, manager: EntityManager) {
    const started = event.payload as unknown as Started;
    await manager.query(
      `INSERT INTO suspension_starts (measure_id, suspension_id, starts_at, sources, event_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [
        measureId,
        started.suspensionId,
        started.startsAt,
        JSON.stringify(started.sources),
        event.eventId,
      ],
    );
    const waiting: { measure_id: string; suspension_id: string }[] = await manager.query(
      `SELECT measure_id, suspension_id FROM suspension_waits
        WHERE trigger_measure_id = $1 AND trigger_suspension_id = $2`,
      [measureId, started.suspensionId],
    );
    for (const wait of waiting) {
      await this.start({
        measureId: wait.measure_id,
        suspensionId: wait.suspension_id,
        startsAt: started.startsAt,
        sources: started.sources,
        causationId: event.eventId,
      });
    }
  }

  private async start(start: Start): Promise<void> {
    try {
      await this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          start.measureId,
          {
            action: 'start-suspension',
            suspensionId: start.suspensionId,
            startsAt: start.startsAt,
            sources: start.sources,
          },
          {
            actor: 'system',
            commandId: `start-suspension:${start.measureId}:${start.suspensionId}`,
            causationId: start.causationId,
          },
        ),
      );
    } catch (error) {
      // Started already (by the domain at scheduling time, or by hand), or no longer there
      // (retracted): nothing left to do.
      const settled =
        isDomainError(error) &&
        ['suspension-already-started', 'suspension-not-found', 'measure-not-found'].includes(
          error.code,
        );
      if (!settled) throw error;
    }
  }
}
