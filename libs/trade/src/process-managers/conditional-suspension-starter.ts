import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import {
  evolveMeasure,
  initialMeasureState,
  isDomainError,
  retractedEventIds,
  type MeasureEvent,
  type Source,
  type SuspensionStarted,
} from '@app/domain';
import { EventStore } from '@app/event-store';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import type { EntityManager } from 'typeorm';
import { ExecuteMeasureAction } from '../measures/execute-measure-action.command';
import { aggregateIdOf, measureStreamId } from '../trade.streams';
import { toDomainEvent } from '../write/load-aggregate';
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
 * suspension scheduled to start when S does is started at the same instant (or, should S have
 * started before that suspension's measure was announced, when it was: the domain's rule, the
 * same as when the suspension is scheduled after S started).
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
  private readonly logger = new Logger(ConditionalSuspensionStarter.name);

  constructor(
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(EventStore) private readonly store: EventStore,
  ) {}

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
    await this.remember(measureId, started, event.eventId, manager);
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
   * A retraction (or the retraction of one, which revives what it retracted) may change whether
   * a trigger has started: the stream folded up to the retraction says. Started: what waits for
   * it is started, if it is not already. Not started, or gone: it starts nothing any more, and
   * the starts this manager made because of it are retracted in turn, as the system, so that
   * what waited waits again. A start recorded by hand is left alone.
   */
  private async onRetracted(measureId: string, retraction: RecordedEvent, manager: EntityManager) {
    const streamId = measureStreamId(measureId);
    // The suspension the retracted event was about: for a retracted retraction (of a retraction,
    // …), the one the fact at the end of the chain was about. Retractions point into their own
    // stream.
    const [touched]: { suspension_id: string | null }[] = await manager.query(
      `WITH RECURSIVE chain (type, payload) AS (
         SELECT type, payload FROM events WHERE stream_id = $1 AND event_id = $2
         UNION ALL
         SELECT e.type, e.payload FROM chain c
           JOIN events e ON e.stream_id = $1 AND e.event_id::text = c.payload->>'eventId'
          WHERE c.type = 'EventRetracted')
       SELECT payload->>'suspensionId' AS suspension_id FROM chain
        WHERE type <> 'EventRetracted' LIMIT 1`,
      [streamId, String(retraction.payload.eventId)],
    );
    const suspensionId = touched?.suspension_id;
    if (!suspensionId) return;
    const history = (await this.store.readStream(streamId, { toVersion: retraction.version })).map(
      (event) => toDomainEvent<MeasureEvent>(event),
    );
    const state = history.reduce(evolveMeasure, initialMeasureState());
    const suspension = state.measure?.suspensions.find((s) => s.id === suspensionId);
    await manager.query(
      'DELETE FROM suspension_starts WHERE measure_id = $1 AND suspension_id = $2',
      [measureId, suspensionId],
    );
    const waiting: { measure_id: string; suspension_id: string }[] = await manager.query(
      `SELECT measure_id, suspension_id FROM suspension_waits
        WHERE trigger_measure_id = $1 AND trigger_suspension_id = $2`,
      [measureId, suspensionId],
    );
    const retracted = retractedEventIds(history);
    const liveStart = history.findLast(
      (event): event is SuspensionStarted =>
        event.type === 'SuspensionStarted' &&
        event.data.suspensionId === suspensionId &&
        !retracted.has(event.metadata.eventId),
    );
    if (suspension?.startsAt !== undefined && liveStart) {
      const started = { ...liveStart.data, startsAt: suspension.startsAt };
      await this.remember(measureId, started, liveStart.metadata.eventId, manager);
      for (const wait of waiting) {
        await this.start({
          measureId: wait.measure_id,
          suspensionId: wait.suspension_id,
          startsAt: started.startsAt,
          sources: started.sources,
          causationId: retraction.eventId,
        });
      }
      return;
    }
    for (const wait of waiting) await this.unstart(wait, retraction, manager);
  }

  /**
   * Retracts the start of a waiting suspension its trigger caused before `retraction`, if it
   * still stands (not retracted, or its retraction retracted): one this manager made, or the one
   * the domain made with the scheduling itself when the trigger had started already (same
   * append: the next version, the same transaction time). A start recorded by hand is left
   * alone. Only starts before the retraction: after a crash, a replayed retraction must not undo
   * a start a later trigger start caused.
   */
  private async unstart(
    wait: { measure_id: string; suspension_id: string },
    retraction: RecordedEvent,
    manager: EntityManager,
  ): Promise<void> {
    const [start]: { event_id: string }[] = await manager.query(
      `SELECT s.event_id FROM events s
        WHERE s.stream_id = $1 AND s.type = 'SuspensionStarted' AND s.position < $3
          AND s.payload->>'suspensionId' = $2
          AND (s.metadata->>'actor' = 'system' OR EXISTS (
                SELECT 1 FROM events p
                 WHERE p.stream_id = s.stream_id AND p.version = s.version - 1
                   AND p.type = 'SuspensionScheduled' AND p.recorded_at = s.recorded_at
                   AND p.payload->>'suspensionId' = $2 AND p.payload->'startsWhen' IS NOT NULL))
          AND NOT EXISTS (
            SELECT 1 FROM events r
             WHERE r.stream_id = s.stream_id AND r.type = 'EventRetracted'
               AND r.payload->>'eventId' = s.event_id::text
               AND NOT EXISTS (SELECT 1 FROM events rr
                                WHERE rr.stream_id = r.stream_id AND rr.type = 'EventRetracted'
                                  AND rr.payload->>'eventId' = r.event_id::text))
        ORDER BY s.version DESC LIMIT 1`,
      [measureStreamId(wait.measure_id), wait.suspension_id, retraction.position],
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

  /** What has started, for a suspension scheduled later to wait on. */
  private async remember(
    measureId: string,
    started: Started,
    eventId: string,
    manager: EntityManager,
  ): Promise<void> {
    await manager.query(
      `INSERT INTO suspension_starts (measure_id, suspension_id, starts_at, sources, event_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
      [measureId, started.suspensionId, started.startsAt, JSON.stringify(started.sources), eventId],
    );
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
      if (!isDomainError(error)) throw error;
      // Started already (by the domain at scheduling time, or by hand), or no longer there
      // (retracted): nothing left to do.
      const settled = ['suspension-already-started', 'suspension-not-found', 'measure-not-found'];
      if (settled.includes(error.code)) return;
      // The measure refuses this start (revoked meanwhile, an end before the start, more points
      // than the rate has, …). A decision is a function of the stream: retrying the batch would
      // be refused the same way and hold up every start behind it. The suspension keeps waiting,
      // and the log says why.
      this.logger.warn(
        `Suspension ${start.suspensionId} of measure ${start.measureId} was not started with its trigger (${start.startsAt}): ${error.code}: ${error.message}`,
      );
    }
  }
}
