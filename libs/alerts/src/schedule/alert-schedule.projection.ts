import { Inject, Injectable } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import {
  evolveMeasure,
  initialMeasureState,
  type MeasureEvent,
  type MeasureState,
  type SuspensionExtendedData,
} from '@app/domain';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import { extendedMessage, WebhookDispatcher } from '@app/webhooks';
import type { EntityManager } from 'typeorm';
import { findAgreements } from '../dispatch/agreement-ref';
import {
  AT_END,
  planAlerts,
  type AlertPlan,
  type PlannedAlert,
  type ScheduledEnd,
} from './alert-plan';
import { LEAD_TIMES_LOCK } from './alert-lead-time-top-up';
import { alertLeadTimes } from './lead-times';

export const ALERT_SCHEDULE_PROJECTION = 'projection:alert-schedule';

interface Writes {
  measures: Map<string, { state: MeasureState; version: number; position: number }>;
  ends: Map<string, ScheduledEnd & { measureId: string }>;
  alerts: Array<PlannedAlert & { position: number }>;
  cancels: Array<{
    measureId: string;
    suspensionId: string;
    endVersion: number;
    reason: string;
    keepRecordedLapse: boolean;
  }>;
}

/**
 * Keeps `alert_schedule` in step with the log (issue 5, scope 1). Each measure event is folded
 * and the measure's schedule diffed against what was planned before (`planAlerts`), event by
 * event, so the rows do not depend on how the log was paged. Idempotent: an event at or below
 * the stored version was applied already, and rows are inserted by deterministic id.
 *
 * An extension also dispatches `suspension.extended` here, in the checkpoint's transaction: the
 * deliveries commit with the schedule change or not at all.
 */
@Injectable()
export class AlertScheduleProjection implements SubscriptionHandler {
  readonly name = ALERT_SCHEDULE_PROJECTION;
  readonly batchSize = 1000;

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
  ) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const byMeasure = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (!event.streamId.startsWith('measure-')) continue;
      const measureId = aggregateIdOf(event.streamId);
      byMeasure.set(measureId, [...(byMeasure.get(measureId) ?? []), event]);
    }
    if (byMeasure.size === 0) return;
    // Shared with other batches, exclusive with a lead-time top-up (see LEAD_TIMES_LOCK).
    await manager.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [
      LEAD_TIMES_LOCK,
    ]);
    const ids = [...byMeasure.keys()];
    const states = await this.loadStates(manager, ids);
    const ends = await this.loadEnds(manager, ids);
    const leadTimes = await alertLeadTimes(manager, this.config.ALERT_LEAD_TIMES);
    const writes: Writes = { measures: new Map(), ends: new Map(), alerts: [], cancels: [] };

    for (const [measureId, measureEvents] of byMeasure) {
      const stored = states.get(measureId);
      let state = stored?.state ?? initialMeasureState();
      let version = stored?.version ?? 0;
      let position = 0;
      const current = ends.get(measureId) ?? new Map<string, ScheduledEnd>();
      for (const event of measureEvents) {
        if (event.version <= version) continue;
        const previous = state.measure;
        state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
        version = event.version;
        position = event.position;
        const plan = planAlerts({
          measureId,
          measure: state.measure,
          previous,
          current,
          version,
          recordedAt: event.recordedAt,
          leadTimes,
        });
        record(writes, measureId, plan, current, position);
        if (event.type === 'SuspensionExtended')
          await this.dispatchExtension(manager, state, event);
      }
      if (position) writes.measures.set(measureId, { state, version, position });
    }
    await this.write(manager, writes);
  }

  private async dispatchExtension(
    manager: EntityManager,
    state: MeasureState,
    event: RecordedEvent,
  ): Promise<void> {
    const measure = state.measure;
    const data = event.payload as unknown as SuspensionExtendedData;
    const suspension = measure?.suspensions.find((s) => s.id === data.suspensionId);
    // An extension decided before a lifting but recorded after it moves no end anyone waits for:
    // the lifting ended the suspension, and a message announcing the new end would mislead.
    if (!measure || !suspension || suspension.state === 'lifted') return;
    // The extension's agreement is the one behind the new end; the suspension's own is named too.
    const endAgreement = data.agreement ?? suspension.agreement;
    const found = await findAgreements(manager, [endAgreement, suspension.agreement]);
    const agreements = {
      end: (endAgreement && found.get(endAgreement)) || null,
      suspension: (suspension.agreement && found.get(suspension.agreement)) || null,
    };
    await this.dispatcher.dispatch(
      manager,
      extendedMessage(
        measure,
        {
          eventId: event.eventId,
          suspensionId: suspension.id,
          previousEndsAt: data.previousEndsAt ?? null,
          endsAt: data.endsAt ?? null,
          extendedBy: data.extendedBy ?? null,
          recordedAt: event.recordedAt,
          concernedEndsAt: data.previousEndsAt ?? data.endsAt ?? null,
        },
        agreements,
      ),
    );
  }

  private async loadStates(manager: EntityManager, ids: string[]) {
    const rows: { measure_id: string; state: MeasureState; version: string }[] =
      await manager.query(
        'SELECT measure_id, state, version FROM alert_measures WHERE measure_id = ANY($1::uuid[])',
        [ids],
      );
    return new Map(
      rows.map((row) => [row.measure_id, { state: row.state, version: Number(row.version) }]),
    );
  }

  private async loadEnds(manager: EntityManager, ids: string[]) {
    const rows: {
      measure_id: string;
      suspension_id: string;
      end_at: Date;
      end_version: string;
      live: boolean;
    }[] = await manager.query(
      `SELECT measure_id, suspension_id, end_at, end_version, live FROM alert_suspension_ends
        WHERE measure_id = ANY($1::uuid[])`,
      [ids],
    );
    const ends = new Map<string, Map<string, ScheduledEnd>>();
    for (const row of rows) {
      const forMeasure = ends.get(row.measure_id) ?? new Map<string, ScheduledEnd>();
      forMeasure.set(row.suspension_id, {
        suspensionId: row.suspension_id,
        endAt: row.end_at.toISOString(),
        endVersion: Number(row.end_version),
        live: row.live,
      });
      ends.set(row.measure_id, forMeasure);
    }
    return ends;
  }

  /** A few set-based statements per batch, whatever its size. Inserts before cancellations. */
  private async write(manager: EntityManager, writes: Writes): Promise<void> {
    const measures = [...writes.measures.entries()];
    if (measures.length) {
      await manager.query(
        `INSERT INTO alert_measures (measure_id, state, version, last_position)
         SELECT * FROM unnest($1::uuid[], $2::jsonb[], $3::bigint[], $4::bigint[])
         ON CONFLICT (measure_id) DO UPDATE SET state = EXCLUDED.state,
           version = EXCLUDED.version, last_position = EXCLUDED.last_position`,
        [
          measures.map(([id]) => id),
          measures.map(([, m]) => JSON.stringify(m.state)),
          measures.map(([, m]) => m.version),
          measures.map(([, m]) => m.position),
        ],
      );
    }
    const ends = [...writes.ends.values()];
    if (ends.length) {
      await manager.query(
        `INSERT INTO alert_suspension_ends (measure_id, suspension_id, end_at, end_version, live)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::bigint[], $5::boolean[])
         ON CONFLICT (measure_id, suspension_id) DO UPDATE SET end_at = EXCLUDED.end_at,
           end_version = EXCLUDED.end_version, live = EXCLUDED.live`,
        [
          ends.map((e) => e.measureId),
          ends.map((e) => e.suspensionId),
          ends.map((e) => e.endAt),
          ends.map((e) => e.endVersion),
          ends.map((e) => e.live),
        ],
      );
    }
    const { alerts } = writes;
    for (let from = 0; from < alerts.length; from += 5000) {
      const chunk = alerts.slice(from, from + 5000);
      await manager.query(
        `INSERT INTO alert_schedule (id, measure_id, suspension_id, lead_time, fire_at, end_at,
                                     end_version, state, outcome, created_position)
         SELECT t.id, t.measure_id, t.suspension_id, t.lead_time, t.fire_at, t.end_at,
                t.end_version, t.state,
                CASE WHEN t.state = 'skipped' THEN 'due before the end was recorded' END,
                t.position
           FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[],
                       $6::timestamptz[], $7::bigint[], $8::text[], $9::bigint[])
             AS t (id, measure_id, suspension_id, lead_time, fire_at, end_at, end_version,
                   state, position)
         ON CONFLICT (id) DO NOTHING`,
        [
          chunk.map((a) => a.id),
          chunk.map((a) => a.measureId),
          chunk.map((a) => a.suspensionId),
          chunk.map((a) => a.leadTime),
          chunk.map((a) => a.fireAt),
          chunk.map((a) => a.endAt),
          chunk.map((a) => a.endVersion),
          chunk.map((a) => a.state),
          chunk.map((a) => a.position),
        ],
      );
    }
    const { cancels } = writes;
    if (cancels.length) {
      // An end alert kept for its recorded lapse: the command id is the one AlertFirer gives.
      await manager.query(
        `UPDATE alert_schedule AS a SET state = 'cancelled', cancelled_at = now(),
                outcome = 'cancelled: ' || t.reason
           FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::boolean[])
             AS t (measure_id, suspension_id, end_version, reason, keep_recorded_lapse)
          WHERE a.measure_id = t.measure_id AND a.suspension_id = t.suspension_id
            AND a.end_version = t.end_version AND a.state = 'pending'
            AND NOT (t.keep_recorded_lapse AND a.lead_time = $6
                     AND EXISTS (SELECT 1 FROM event_commands c
                                  WHERE c.command_id = 'lapse:' || a.measure_id || ':'
                                          || a.suspension_id || ':' || a.end_version))`,
        [
          cancels.map((c) => c.measureId),
          cancels.map((c) => c.suspensionId),
          cancels.map((c) => c.endVersion),
          cancels.map((c) => c.reason),
          cancels.map((c) => c.keepRecordedLapse),
          AT_END,
        ],
      );
    }
  }
}

/** Applies a plan to the in-memory ends (later events of the batch see it) and queues its writes. */
function record(
  writes: Writes,
  measureId: string,
  plan: AlertPlan,
  current: Map<string, ScheduledEnd>,
  position: number,
): void {
  for (const cancel of plan.cancel) {
    writes.cancels.push({
      measureId,
      suspensionId: cancel.suspensionId,
      endVersion: cancel.endVersion,
      reason: cancel.reason,
      keepRecordedLapse: cancel.keepRecordedLapse === true,
    });
  }
  for (const end of plan.ends) {
    current.set(end.suspensionId, end);
    writes.ends.set(`${measureId}/${end.suspensionId}`, { ...end, measureId });
  }
  for (const alert of plan.alerts) writes.alerts.push({ ...alert, position });
}
