import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isDomainError, type Measure } from '@app/domain';
import { ExecuteMeasureAction, type WriteResult } from '@app/trade';
import { WebhookDispatcher } from '@app/webhooks';
import { DataSource, type EntityManager } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { alertFireLateness, alertsFired } from '../alert-metrics';
import { findAgreement } from '../dispatch/agreement-ref';
import { expiringMessage, lapsedMessage, type AlertFacts } from '../dispatch/alert-messages';
import { AT_END } from '../schedule/alert-plan';

/** A job may run this much before its fire time (clock skew between Redis and Node) and still fire. */
const EARLY_TOLERANCE_MS = 1000;

export type FireResult =
  | { outcome: 'missing' }
  /** Superseded (another end version) or no longer pending: the job was stale. */
  | { outcome: 'fenced'; state: string }
  /** Taken too early (the job's delay was computed with another clock): run it again at `fireAt`. */
  | { outcome: 'not-due'; fireAt: Date }
  | { outcome: 'fired'; latenessMs: number; deliveries: number; lapse?: LapseOutcome }
  /** The end the alert counted down to did not happen (lifted, retracted, never started). */
  | { outcome: 'cancelled'; reason: string };

type LapseOutcome = 'recorded' | 'already-lapsed' | 'not-active' | 'not-found';

interface AlertRow {
  id: string;
  measure_id: string;
  suspension_id: string;
  lead_time: string;
  fire_at: Date;
  end_at: Date;
  end_version: string;
  state: string;
}

/** The end has not been reached on the measure's stream: an extension the schedule has not seen yet. */
export class LapseNotDueError extends Error {
  constructor(alertId: string) {
    super(`Alert ${alertId}: the suspension has not ended on its stream yet; retrying later`);
    this.name = 'LapseNotDueError';
  }
}

/**
 * Fires one alert (issue 5, scope 2), fenced: it acts only on a row that is still `pending` at
 * the job's end version, under a row lock, and marks it fired in the transaction that creates
 * the webhook deliveries; a second run (a retry, a stalled job taken over, a job the reconciler
 * re-created) finds the row fired and does nothing.
 *
 * At the end itself (`PT0S`) it first records the lapse through the CommandBus, with a command id
 * derived from the alert, so a retry appends nothing twice.
 */
@Injectable()
export class AlertFirer {
  private readonly logger = new Logger('AlertFirer');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
  ) {}

  async fire(alertId: string, endVersion: number): Promise<FireResult> {
    const result = await this.attempt(alertId, endVersion);
    alertsFired.inc({ outcome: result.outcome });
    return result;
  }

  private async attempt(alertId: string, endVersion: number): Promise<FireResult> {
    const fast = await this.fireWarning(alertId, endVersion);
    if (fast) return this.observed(fast);
    const row = await this.load(this.dataSource.manager, alertId, false);
    if (!row) return { outcome: 'missing' };
    if (row.state !== 'pending' || Number(row.end_version) !== endVersion) {
      return { outcome: 'fenced', state: row.state };
    }
    if (row.fire_at.getTime() > this.clock.now().getTime() + EARLY_TOLERANCE_MS) {
      return { outcome: 'not-due', fireAt: row.fire_at };
    }
    const lapse = row.lead_time === AT_END ? await this.recordLapse(row) : undefined;
    const result = await this.dataSource.transaction(async (manager) => {
      const locked = await this.load(manager, alertId, true);
      if (!locked || locked.state !== 'pending' || Number(locked.end_version) !== endVersion) {
        return { outcome: 'fenced', state: locked?.state ?? 'missing' } as const;
      }
      if (lapse === 'not-active' || lapse === 'not-found') {
        const reason = lapse === 'not-found' ? 'suspension retracted' : 'suspension not active';
        await manager.query(
          `UPDATE alert_schedule SET state = 'cancelled', cancelled_at = $2,
                  outcome = 'cancelled: ' || $3 WHERE id = $1`,
          [alertId, this.clock.now(), reason],
        );
        return { outcome: 'cancelled', reason } as const;
      }
      const firedAt = this.clock.now();
      await manager.query(
        `UPDATE alert_schedule SET state = 'fired', fired_at = $2, outcome = $3 WHERE id = $1`,
        [alertId, firedAt, lapse ? `lapse ${lapse}` : 'fired'],
      );
      const measure = await this.measureOf(manager, locked.measure_id);
      const deliveries = await this.dispatch(manager, locked, measure, lapse);
      return {
        outcome: 'fired',
        latenessMs: firedAt.getTime() - locked.fire_at.getTime(),
        deliveries,
        leadTime: locked.lead_time,
        ...(lapse && { lapse }),
      } as const;
    });
    return this.observed(result);
  }

  /**
   * The common case in one statement: a warning (not the end) that is pending at this version
   * and due is marked fired — the row lock taken by the UPDATE is the fence — and its measure
   * read in the same statement; then the deliveries, in the same transaction. Anything else
   * (stale, early, the end, a measure not projected) answers undefined and takes the slow path.
   */
  private async fireWarning(
    alertId: string,
    endVersion: number,
  ): Promise<(FireResult & { leadTime: string }) | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const firedAt = this.clock.now();
      // TypeORM answers an UPDATE … RETURNING with [rows, affected row count].
      const [rows]: [(AlertRow & { measure: Measure | null })[], number] = await manager.query(
        `UPDATE alert_schedule AS a SET state = 'fired', fired_at = $3, outcome = 'fired'
           FROM alert_measures AS m
          WHERE a.id = $1 AND a.end_version = $2 AND a.state = 'pending'
            AND a.lead_time <> $4 AND a.fire_at <= $5 AND m.measure_id = a.measure_id
            AND m.state->'measure' IS NOT NULL AND m.state->'measure' <> 'null'::jsonb
        RETURNING a.id, a.measure_id, a.suspension_id, a.lead_time, a.fire_at, a.end_at,
                  a.end_version, a.state, m.state->'measure' AS measure`,
        [alertId, endVersion, firedAt, AT_END, new Date(firedAt.getTime() + EARLY_TOLERANCE_MS)],
      );
      const row = rows[0];
      if (!row) return undefined;
      const deliveries = await this.dispatch(manager, row, row.measure, undefined);
      return {
        outcome: 'fired',
        latenessMs: firedAt.getTime() - row.fire_at.getTime(),
        deliveries,
        leadTime: row.lead_time,
      } as const;
    });
  }

  private observed(result: FireResult & { leadTime?: string }): FireResult {
    if (result.outcome === 'fired' && result.leadTime) {
      alertFireLateness.observe(
        { lead_time: result.leadTime },
        Math.max(0, result.latenessMs) / 1000,
      );
    }
    if (result.outcome !== 'fired') return result;
    const { leadTime: _leadTime, ...fired } = result;
    return fired;
  }

  private async measureOf(manager: EntityManager, measureId: string): Promise<Measure | null> {
    const rows: { measure: Measure | null }[] = await manager.query(
      `SELECT state->'measure' AS measure FROM alert_measures WHERE measure_id = $1`,
      [measureId],
    );
    return rows[0]?.measure ?? null;
  }

  private async dispatch(
    manager: EntityManager,
    row: AlertRow,
    measure: Measure | null,
    lapse: LapseOutcome | undefined,
  ): Promise<number> {
    if (!measure) {
      this.logger.warn(`Alert ${row.id}: measure ${row.measure_id} is gone; nothing dispatched`);
      return 0;
    }
    const suspension = measure.suspensions.find((s) => s.id === row.suspension_id);
    const agreement = await findAgreement(manager, suspension?.agreement);
    const facts: AlertFacts = {
      id: row.id,
      suspensionId: row.suspension_id,
      leadTime: row.lead_time,
      fireAt: row.fire_at,
      endAt: row.end_at,
      endVersion: Number(row.end_version),
    };
    let deliveries = await this.dispatcher.dispatch(
      manager,
      expiringMessage(measure, facts, agreement),
    );
    if (lapse === 'recorded' || lapse === 'already-lapsed') {
      deliveries += await this.dispatcher.dispatch(
        manager,
        lapsedMessage(measure, facts, agreement),
      );
    }
    return deliveries;
  }

  /** Records the lapse as the system; a lapse already recorded (by a previous run) is done. */
  private async recordLapse(row: AlertRow): Promise<LapseOutcome> {
    const commandId = `lapse:${row.measure_id}:${row.suspension_id}:${row.end_version}`;
    try {
      await this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          row.measure_id,
          { action: 'lapse-suspension', suspensionId: row.suspension_id },
          { actor: 'system', commandId, correlationId: `alert:${row.id}`, now: this.clock.now() },
        ),
      );
      return 'recorded';
    } catch (error) {
      if (!isDomainError(error)) throw error;
      if (error.code === 'suspension-not-active') {
        return error.details.state === 'lapsed' ? 'already-lapsed' : 'not-active';
      }
      if (error.code === 'suspension-not-found' || error.code === 'measure-not-found') {
        return 'not-found';
      }
      if (error.code === 'suspension-not-ended') throw new LapseNotDueError(row.id);
      throw error;
    }
  }

  private async load(
    manager: EntityManager,
    alertId: string,
    lock: boolean,
  ): Promise<AlertRow | undefined> {
    const rows: AlertRow[] = await manager.query(
      `SELECT id, measure_id, suspension_id, lead_time, fire_at, end_at, end_version, state
         FROM alert_schedule WHERE id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [alertId],
    );
    return rows[0];
  }
}
