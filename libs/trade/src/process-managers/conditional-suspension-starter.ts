import { Inject, Injectable } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isDomainError, type Source } from '@app/domain';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import type { EntityManager } from 'typeorm';
import { ExecuteMeasureAction } from '../measures/execute-measure-action.command';
import { aggregateIdOf, measureStreamId } from '../trade.streams';
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
        await this.onRetracted(measureId, event, manager);
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

  /**
   * A trigger's start, or the trigger suspension itself, found to be wrong: it no longer starts
   * what waits for it, and what this manager started because of it is retracted in turn (as the
   * system), so the waiting suspension waits again. A start recorded by hand is left alone.
   */
  private async onRetracted(measureId: string, retraction: RecordedEvent, manager: EntityManager) {
    const retractedId = String(retraction.payload.eventId);
    const [target]: { type: string; suspension_id: string | null }[] = await manager.query(
      `SELECT type, payload->>'suspensionId' AS suspension_id FROM events WHERE event_id = $1`,
      [retractedId],
    );
    await manager.query('DELETE FROM suspension_starts WHERE event_id = $1', [retractedId]);
    const triggerSuspension = target?.suspension_id;
    if (!triggerSuspension || !['SuspensionScheduled', 'SuspensionStarted'].includes(target.type)) {
      return;
    }
    await manager.query(
      'DELETE FROM suspension_starts WHERE measure_id = $1 AND suspension_id = $2',
      [measureId, triggerSuspension],
    );
    const waiting: { measure_id: string; suspension_id: string }[] = await manager.query(
      `SELECT measure_id, suspension_id FROM suspension_waits
        WHERE trigger_measure_id = $1 AND trigger_suspension_id = $2`,
      [measureId, triggerSuspension],
    );
    for (const wait of waiting) await this.unstart(wait, retraction, manager);
  }

  private async unstart(
    wait: { measure_id: string; suspension_id: string },
    retraction: RecordedEvent,
    manager: EntityManager,
  ): Promise<void> {
    // The start this manager issued, if it still stands.
    const [start]: { event_id: string }[] = await manager.query(
      `SELECT s.event_id FROM events s
        WHERE s.stream_id = $1 AND s.type = 'SuspensionStarted'
          AND s.payload->>'suspensionId' = $2 AND s.metadata->>'actor' = 'system'
          AND NOT EXISTS (SELECT 1 FROM events r WHERE r.stream_id = s.stream_id
                             AND r.type = 'EventRetracted'
                             AND r.payload->>'eventId' = s.event_id::text)
        ORDER BY s.version DESC LIMIT 1`,
      [measureStreamId(wait.measure_id), wait.suspension_id],
    );
    if (!start) return;
    try {
      await this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          wait.measure_id,
          {
            action: 'retract-event',
            body: {
              eventId: start.event_id,
              reason: 'The start of the suspension it waited for was retracted',
              sources: retraction.payload.sources as Source[],
            },
          },
          {
            actor: 'system',
            commandId: `unstart-suspension:${wait.measure_id}:${wait.suspension_id}:${retraction.eventId}`,
            causationId: retraction.eventId,
          },
        ),
      );
    } catch (error) {
      // Retracted meanwhile (by hand, or the whole measure): nothing left to undo.
      const settled =
        isDomainError(error) &&
        ['event-already-retracted', 'event-not-found', 'measure-not-found'].includes(error.code);
      if (!settled) throw error;
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
            // Per cause: after a retracted trigger start, the next start is a new command.
            commandId: `start-suspension:${start.measureId}:${start.suspensionId}:${start.causationId}`,
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
