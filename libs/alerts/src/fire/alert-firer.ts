import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isDomainError, type Measure } from '@app/domain';
import { ExecuteMeasureAction, type WriteResult } from '@app/trade';
import { WebhookDispatcher } from '@app/webhooks';
import { DataSource, type EntityManager } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { alertFireLateness, alertsFired } from '../alert-metrics';
import { findAgreement, findAgreements } from '../dispatch/agreement-ref';
import { expiringMessage, lapsedMessage, type AlertFacts } from '../dispatch/alert-messages';
import { AT_END } from '../schedule/alert-plan';

/** A job may run this much before its fire time (clock skew between Redis and Node) and still fire. */
const EARLY_TOLERANCE_MS = 1000;
/**
 * Due warnings claimed per transaction. Several jobs claim at once (the worker's concurrency),
 * each its own batch (`SKIP LOCKED`), so that a burst is claimed by a few transactions at once
 * rather than one after another; at 50 subscriptions a batch is 12,500 deliveries.
 */
const FIRE_BATCH = 250;
/** Alerts this process fired in a batch, remembered so that their own jobs finish at once. */
const REMEMBERED = 100_000;

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
 * Fires alerts (issue 5, scope 2), fenced: a row fires only while it is still `pending` — an
 * alert whose end moved or went away is `cancelled` by the schedule projection, and a fired one
 * stays fired — under a row lock, in the transaction that creates its webhook deliveries; a
 * second run (a retry, a stalled job taken over, a job the reconciler re-created) finds the row
 * fired and does nothing.
 *
 * Warnings fire in batches: the job of one due warning claims every due warning (up to
 * `FIRE_BATCH`, `FOR UPDATE SKIP LOCKED` so that concurrent jobs claim disjoint batches) in one
 * `UPDATE … RETURNING`, and their deliveries are written with one subscriptions read and one
 * multi-row insert. The jobs of the alerts a batch fired then find them fired and finish.
 *
 * At the end itself (`PT0S`) it first records the lapse through the CommandBus, with a command id
 * derived from the alert, so a retry appends nothing twice; those fire one by one.
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

  /** Alerts fired by this process's batches (fired is final, so this never goes stale). */
  private readonly fired = new Set<string>();
  /** Alerts claimed by a batch of this process that has not committed yet. */
  private readonly claiming = new Map<string, Promise<unknown>>();

  /** `leadTime`, when known, lets the end (which fires on its own) skip the batch of warnings. */
  async fire(alertId: string, endVersion: number, leadTime?: string): Promise<FireResult> {
    const batched = leadTime === AT_END ? undefined : await this.fireInBatch(alertId, endVersion);
    // A batch counts the alerts it fires; a job that found its alert fired by one is fenced.
    if (batched?.outcome === 'fenced') alertsFired.inc({ outcome: batched.outcome });
    if (batched) return batched;
    const result = await this.attempt(alertId, endVersion);
    alertsFired.inc({ outcome: result.outcome });
    return result;
  }

  /**
   * The job's alert fired by a batch — this job's own, claimed first, or one running alongside
   * it in this process — or undefined when it is not a due warning (the one-by-one path decides).
   */
  private async fireInBatch(alertId: string, endVersion: number): Promise<FireResult | undefined> {
    await this.claiming.get(alertId)?.catch(() => undefined);
    if (this.fired.has(alertId)) return { outcome: 'fenced', state: 'fired' };
    const fired = await this.fireBatch({ alertId, endVersion });
    const own = fired.get(alertId);
    if (own) return own;
    await this.claiming.get(alertId)?.catch(() => undefined);
    if (this.fired.has(alertId)) return { outcome: 'fenced', state: 'fired' };
    return undefined;
  }

  /**
   * One batch, started by the job of a due warning: claims due warnings (the job's own first,
   * due within the early tolerance) whose measure is known, marks them fired and dispatches
   * their deliveries, all in one transaction. Returns the fired alerts' results by id, once
   * committed.
   */
  private async fireBatch(own: {
    alertId: string;
    endVersion: number;
  }): Promise<Map<string, FireResult>> {
    let claimed: string[] = [];
    let settle: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (settle = resolve));
    try {
      const results = await this.dataSource.transaction(async (manager) => {
        const firedAt = this.clock.now();
        // TypeORM answers an UPDATE … RETURNING with [rows, affected row count].
        const [rows]: [(AlertRow & { measure: Measure })[], number] = await manager.query(
          `UPDATE alert_schedule AS a SET state = 'fired', fired_at = $1, outcome = 'fired'
             FROM (SELECT id FROM alert_schedule
                    WHERE state = 'pending' AND lead_time <> $2
                      AND (fire_at <= $1 OR (id = $4 AND end_version = $5 AND fire_at <= $6))
                      -- Only a job of a due warning starts a batch: the end (which fires on
                      -- its own), a stale job or an early one would scan the due rows for nothing.
                      AND EXISTS (SELECT 1 FROM alert_schedule o
                                   WHERE o.id = $4 AND o.end_version = $5 AND o.state = 'pending'
                                     AND o.lead_time <> $2 AND o.fire_at <= $6)
                    ORDER BY id = $4 DESC, fire_at, id
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED) AS due,
                  alert_measures AS m
            WHERE a.id = due.id AND m.measure_id = a.measure_id
              AND m.state->'measure' IS NOT NULL AND m.state->'measure' <> 'null'::jsonb
          RETURNING a.id, a.measure_id, a.suspension_id, a.lead_time, a.fire_at, a.end_at,
                    a.end_version, a.state, m.state->'measure' AS measure`,
          [
            firedAt,
            AT_END,
            FIRE_BATCH,
            own.alertId,
            own.endVersion,
            new Date(firedAt.getTime() + EARLY_TOLERANCE_MS),
          ],
        );
        claimed = rows.map((row) => row.id);
        for (const id of claimed) this.claiming.set(id, committed);
        if (rows.length === 0) return new Map<string, FireResult>();
        const counts = await this.dispatchWarnings(manager, rows);
        return new Map<string, FireResult & { leadTime: string }>(
          rows.map((row, index) => [
            row.id,
            {
              outcome: 'fired',
              latenessMs: firedAt.getTime() - row.fire_at.getTime(),
              deliveries: counts[index],
              leadTime: row.lead_time,
            },
          ]),
        );
      });
      for (const [id, result] of results) {
        this.remember(id);
        alertsFired.inc({ outcome: result.outcome });
        results.set(id, this.observed(result));
      }
      return results;
    } finally {
      for (const id of claimed) this.claiming.delete(id);
      settle();
    }
  }

  /** The `suspension.expiring` deliveries of a batch: one agreements read, one dispatch. */
  private async dispatchWarnings(
    manager: EntityManager,
    rows: (AlertRow & { measure: Measure })[],
  ): Promise<number[]> {
    const suspensionOf = (row: AlertRow & { measure: Measure }) =>
      row.measure.suspensions.find((s) => s.id === row.suspension_id);
    const agreements = await findAgreements(
      manager,
      rows.map((row) => suspensionOf(row)?.agreement),
    );
    const messages = rows.map((row) => {
      const agreementId = suspensionOf(row)?.agreement;
      return expiringMessage(
        row.measure,
        factsOf(row),
        (agreementId && agreements.get(agreementId)) || null,
      );
    });
    return this.dispatcher.dispatchMany(manager, messages);
  }

  private remember(alertId: string): void {
    if (this.fired.size >= REMEMBERED) {
      // Oldest first (a Set keeps insertion order); a forgotten alert just takes the slow path.
      for (const id of [...this.fired].slice(0, REMEMBERED / 10)) this.fired.delete(id);
    }
    this.fired.add(alertId);
  }

  /**
   * One alert on its own: the end (which records the lapse first), and whatever the batch did
   * not take — stale, early, not yet projected, or claimed by another process's batch (the row
   * lock makes this wait for it, then find it fired).
   */
  private async attempt(alertId: string, endVersion: number): Promise<FireResult> {
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
    const facts = factsOf(row);
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

/** What an alert's messages say of the alert itself. */
function factsOf(row: AlertRow): AlertFacts {
  return {
    id: row.id,
    suspensionId: row.suspension_id,
    leadTime: row.lead_time,
    fireAt: row.fire_at,
    endAt: row.end_at,
    endVersion: Number(row.end_version),
  };
}
