import { Inject, Injectable, Logger } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { isDomainError, type Measure } from '@app/domain';
import { ExecuteMeasureAction, type WriteResult } from '@app/trade';
import { WebhookDispatcher, type SuspensionAgreements, type WebhookMessage } from '@app/webhooks';
import { DataSource, type EntityManager } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { AlertMetrics } from '../alert-metrics';
import { findAlertAgreements } from '../dispatch/agreement-ref';
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
/**
 * Due ends taken per batch. Each records its lapse (an append to its own measure stream) before
 * the batch marks them, so a smaller batch commits sooner; several jobs run batches at once.
 */
const LAPSE_BATCH = 50;
/**
 * Lapse commands of one batch in flight at once. Each borrows a pool connection for a few round
 * trips, and no transaction is held open while they run, so batches cannot starve the pool.
 */
const LAPSE_CONCURRENCY = 5;
/**
 * Batches of ends in flight at once in a process. More would not go faster (the pool is shared)
 * but would commit later: the jobs of a burst wait for a slot, and most find their end settled
 * by the batches ahead of them by then.
 */
const END_BATCHES = 4;
/**
 * Batches of warnings in flight at once in a process. Each writes thousands of deliveries into
 * the same indexes; more at once only contend for the pool and the cores and all commit late,
 * while the jobs of a burst that wait for a slot mostly find their alert fired by then.
 */
const WARNING_BATCHES = 4;
/**
 * Messages whose deliveries one statement writes after a batch commits: at 50 subscriptions,
 * 2,500 rows, so that the pump starts on the first of a burst while the rest are written.
 */
const EXPAND_CHUNK = 50;
/** Alerts settled (fired or cancelled) by this process's batches, so that their jobs finish at once. */
const REMEMBERED = 100_000;

/**
 * Whether the `alert_schedule` row named `row` was due when the event that scheduled it (its
 * `created_position`) was recorded, as `planAlerts` judged it. (A row of a lead time topped up
 * later names an earlier position, when it was ahead; one already past then was skipped.)
 */
const overdue = (row: string) =>
  `EXISTS (SELECT 1 FROM events e
            WHERE e.position = ${row}.created_position AND e.recorded_at >= ${row}.fire_at)`;

/**
 * The schedule has folded every event of the alert's measure (`alert_measures.version` is the
 * stream's version), so the row is what those events make of it. Until then an event it has not
 * seen yet — a retraction, an extension, a revocation recorded while the worker was down — may
 * cancel or move the alert, and firing it would send what is no longer true.
 */
const caughtUp = (alert: string, measure: string) =>
  `${measure}.version >= (SELECT coalesce(max(e.version), 0) FROM events e
                           WHERE e.stream_id = 'measure-' || ${alert}.measure_id::text)`;

/** What a fired alert's result carries for the metrics, and drops before it is returned. */
interface Observed {
  leadTime: string;
  overdue: boolean;
}

export type FireResult =
  | { outcome: 'missing' }
  /** Superseded (another end version) or no longer pending: the job was stale. */
  | { outcome: 'fenced'; state: string }
  /** Taken too early (the job's delay was computed with another clock): run it again at `fireAt`. */
  | { outcome: 'not-due'; fireAt: Date }
  /**
   * The schedule has not yet folded every event of the alert's measure (see `caughtUp`): run it
   * again once it has, and it will have cancelled, moved or kept the alert.
   */
  | { outcome: 'behind' }
  | { outcome: 'fired'; latenessMs: number; deliveries: number; lapse?: LapseOutcome }
  /** The end the alert counted down to did not happen (lifted, retracted, never started). */
  | { outcome: 'cancelled'; reason: string };

type Fired = Extract<FireResult, { outcome: 'fired' }>;

type LapseOutcome = 'recorded' | 'already-lapsed' | 'not-active' | 'not-found' | 'revoked';
/** What a lapse outcome cancels its alert with, if it does. */
type Cancelling = Extract<LapseOutcome, 'not-active' | 'not-found' | 'revoked'>;
const isCancelling = (lapse: LapseOutcome | undefined): lapse is Cancelling =>
  lapse === 'not-active' || lapse === 'not-found' || lapse === 'revoked';

interface AlertRow {
  id: string;
  measure_id: string;
  suspension_id: string;
  lead_time: string;
  fire_at: Date;
  end_at: Date;
  end_version: string;
  state: string;
  /**
   * The fire time had passed when the end was recorded (the event that scheduled the row): an
   * end imported after it passed. It fires at once, and its lateness is not observed.
   */
  overdue: boolean;
}

type MeasuredRow = AlertRow & { measure: Measure };

/** What a batch of ends does with one alert once its lapse command has answered. */
type EndDecision =
  | { state: 'fired'; lapse: LapseOutcome }
  | { state: 'cancelled'; reason: string }
  /** Left pending (not ended on its stream yet, or a transient failure): its own job retries. */
  | { state: 'pending'; error: unknown };

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
 * Ends (`PT0S`) fire in batches too: the job of a due end takes up to `LAPSE_BATCH` due ends
 * (disjoint from the batches in hand in this process), records each lapse through the CommandBus
 * — each its own append with its expected version and a command id derived from the alert, so a
 * retry appends nothing twice and an extension recorded meanwhile wins — and then marks them and
 * writes their deliveries in one short transaction, fenced like the warnings.
 */
@Injectable()
export class AlertFirer {
  private readonly logger = new Logger('AlertFirer');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(CommandBus) private readonly commandBus: CommandBus,
    @Inject(WebhookDispatcher) private readonly dispatcher: WebhookDispatcher,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
    @Inject(AlertMetrics) private readonly metrics: AlertMetrics,
  ) {}

  /** Alerts settled by this process's batches (fired and cancelled are final: never stale). */
  private readonly settled = new Map<string, 'fired' | 'cancelled'>();
  /** Alerts in the hands of a batch of this process that has not committed yet. */
  private readonly claiming = new Map<string, Promise<unknown>>();
  /** Batches of ends take their alerts one after another, so that they take disjoint ones. */
  private taking: Promise<unknown> = Promise.resolve();
  private readonly endBatches = new BatchSlots(END_BATCHES);
  private readonly warningBatches = new BatchSlots(WARNING_BATCHES);

  /** `leadTime`, when known, sends the end to the batches of ends and warnings to theirs. */
  async fire(alertId: string, endVersion: number, leadTime?: string): Promise<FireResult> {
    const batched =
      leadTime === AT_END
        ? await this.fireEndsInBatch(alertId, endVersion)
        : await this.fireInBatch(alertId, endVersion);
    // A batch counts the alerts it settles; a job that found its alert settled by one is fenced.
    if (batched?.outcome === 'fenced') this.metrics.fired.inc({ outcome: batched.outcome });
    if (batched) return batched;
    const result = await this.attempt(alertId, endVersion);
    this.metrics.fired.inc({ outcome: result.outcome });
    return result;
  }

  /**
   * The job's alert fired by a batch — this job's own, claimed first, or one running alongside
   * it in this process — or undefined when it is not a due warning (the one-by-one path decides).
   */
  private async fireInBatch(alertId: string, endVersion: number): Promise<FireResult | undefined> {
    const before = await this.settledByBatch(alertId);
    if (before) return before;
    let batch: { expanded: Promise<Map<string, FireResult>> } | undefined;
    await this.warningBatches.take();
    try {
      // A batch that ran while this job waited for its slot may have fired its alert already.
      if (!this.claiming.has(alertId) && !this.settled.has(alertId)) {
        batch = await this.fireBatch({ alertId, endVersion });
      }
    } finally {
      // Fired and committed: the next batch may fire while this one's deliveries are written.
      this.warningBatches.give();
    }
    return (await batch?.expanded)?.get(alertId) ?? this.settledByBatch(alertId);
  }

  /** Fenced when a batch of this process settled the alert (after waiting for one in hand). */
  private async settledByBatch(alertId: string): Promise<FireResult | undefined> {
    await this.claiming.get(alertId)?.catch(() => undefined);
    const state = this.settled.get(alertId);
    return state ? { outcome: 'fenced', state } : undefined;
  }

  /**
   * One batch, started by the job of a due warning: claims due warnings (the job's own first,
   * due within the early tolerance) whose measure is known, marks them fired and stages their
   * messages with their recipients, all in one transaction (the outbox: see
   * `WebhookDispatcher.stageMany`), then writes their deliveries. Answers once committed, with
   * the fired alerts' results by id once their deliveries are written; the jobs of the batch's
   * alerts wait for that too.
   */
  private async fireBatch(own: {
    alertId: string;
    endVersion: number;
  }): Promise<{ expanded: Promise<Map<string, FireResult>> }> {
    let claimed: string[] = [];
    let settle: () => void = () => undefined;
    const settled = new Promise<void>((resolve) => (settle = resolve));
    const release = () => {
      for (const id of claimed) this.claiming.delete(id);
      settle();
    };
    try {
      const { results, staged } = await this.dataSource.transaction(async (manager) => {
        const firedAt = this.clock.now();
        // TypeORM answers an UPDATE … RETURNING with [rows, affected row count].
        const [rows]: [MeasuredRow[], number] = await manager.query(
          `UPDATE alert_schedule AS a SET state = 'fired', fired_at = $1, outcome = 'fired'
             FROM (SELECT id, ${overdue('alert_schedule')} AS overdue FROM alert_schedule
                    WHERE state = 'pending' AND lead_time <> $2
                      AND (fire_at <= $1 OR (id = $4 AND end_version = $5 AND fire_at <= $6))
                      -- Only a job of a due warning starts a batch: the end (which fires on
                      -- its own), a stale job or an early one would scan the due rows for nothing.
                      AND EXISTS (SELECT 1 FROM alert_schedule o
                                   WHERE o.id = $4 AND o.end_version = $5 AND o.state = 'pending'
                                     AND o.lead_time <> $2 AND o.fire_at <= $6)
                      -- Before the limit and the locks: a row the schedule has not caught up
                      -- with takes no place in the batch, and stays free for the projection.
                      AND EXISTS (SELECT 1 FROM alert_measures w
                                   WHERE w.measure_id = alert_schedule.measure_id
                                     AND ${caughtUp('alert_schedule', 'w')})
                    ORDER BY id = $4 DESC, fire_at, id
                    LIMIT $3
                    FOR UPDATE SKIP LOCKED) AS due,
                  alert_measures AS m
            WHERE a.id = due.id AND m.measure_id = a.measure_id
              AND m.state->'measure' IS NOT NULL AND m.state->'measure' <> 'null'::jsonb
          RETURNING a.id, a.measure_id, a.suspension_id, a.lead_time, a.fire_at, a.end_at,
                    a.end_version, a.state, due.overdue, m.state->'measure' AS measure`,
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
        for (const id of claimed) this.claiming.set(id, settled);
        const staged = new StagedMessages();
        const results = new Map<string, Fired & Observed>();
        if (rows.length === 0) return { results, staged };
        const messages = await this.warningMessages(manager, rows);
        const counts = await this.dispatcher.stageMany(manager, messages);
        for (const [index, row] of rows.entries()) {
          staged.add(row.id, messages[index].messageKey, counts[index]);
          results.set(row.id, {
            outcome: 'fired',
            latenessMs: firedAt.getTime() - row.fire_at.getTime(),
            deliveries: 0,
            leadTime: row.lead_time,
            overdue: row.overdue,
          });
        }
        return { results, staged };
      });
      for (const id of results.keys()) this.remember(id, 'fired');
      const expanded = this.expandStaged(staged)
        .then((deliveries) => this.answers(results, deliveries))
        .finally(release);
      return { expanded };
    } catch (error) {
      release();
      throw error;
    }
  }

  /**
   * What a batch's jobs answer once its deliveries are written: each fired alert with the
   * deliveries it got, counted and observed in the metrics.
   */
  private answers(
    results: Map<string, FireResult & Partial<Observed>>,
    deliveries: Map<string, number>,
  ): Map<string, FireResult> {
    const answers = new Map<string, FireResult>();
    for (const [id, result] of results) {
      this.metrics.fired.inc({ outcome: result.outcome });
      answers.set(
        id,
        this.observed(
          result.outcome === 'fired' ? { ...result, deliveries: deliveries.get(id) ?? 0 } : result,
        ),
      );
    }
    return answers;
  }

  /** The `suspension.expiring` messages of a batch, one per row: one agreements read. */
  private async warningMessages(
    manager: EntityManager,
    rows: MeasuredRow[],
  ): Promise<WebhookMessage[]> {
    const agreements = await findAlertAgreements(
      manager,
      rows.map((row) => suspensionOf(row)),
    );
    return rows.map((row, index) => expiringMessage(row.measure, factsOf(row), agreements[index]));
  }

  /**
   * Writes the deliveries of a committed batch's staged messages, a chunk at a time, and
   * answers how many each alert got. Should that fail (the database gone after the commit), the
   * messages stay staged and the delivery pump's sweep writes them: each alert then counts the
   * recipients it was staged for.
   */
  private async expandStaged(staged: StagedMessages): Promise<Map<string, number>> {
    const pending = new Map<string, number>();
    try {
      for (let start = 0; start < staged.keys.length; start += EXPAND_CHUNK) {
        const keys = staged.keys.slice(start, start + EXPAND_CHUNK);
        const written = await this.dispatcher.expandStaged(this.dataSource.manager, { keys });
        for (const [key, count] of written) pending.set(key, count);
      }
    } catch (error) {
      this.logger.warn(
        `Writing the deliveries of ${staged.keys.length - pending.size} fired alerts failed; ` +
          `the delivery pump will: ${(error as Error).message}`,
      );
    }
    return staged.deliveriesByAlert(pending);
  }

  /**
   * The job's end settled by a batch of ends — its own, or one in hand in this process — or
   * undefined when the one-by-one path must decide (not due, stale, its measure not projected,
   * or taken by another process). Throws when its own lapse failed, so that the job is retried.
   */
  private async fireEndsInBatch(
    alertId: string,
    endVersion: number,
  ): Promise<FireResult | undefined> {
    const before = await this.settledByBatch(alertId);
    if (before) return before;
    await this.endBatches.take();
    let own: FireResult | { error: unknown } | undefined;
    try {
      // A batch that ran while this job waited for its slot may have taken its end already.
      if (!this.claiming.has(alertId) && !this.settled.has(alertId)) {
        own = (await this.fireEndBatch({ alertId, endVersion })).get(alertId);
      }
    } finally {
      this.endBatches.give();
    }
    if (own && 'error' in own) throw own.error;
    return own ?? this.settledByBatch(alertId);
  }

  /**
   * One batch of ends: takes due ends (the job's own first), records their lapses — outside any
   * transaction, as the one-by-one path does, so a crash in between leaves recorded lapses whose
   * command ids make the retry a no-op — then, in one transaction, marks those still pending
   * (`FOR UPDATE SKIP LOCKED`: one that another process is marking is left to it) and dispatches
   * `suspension.expiring` and `suspension.lapsed` for them. Returns the settled alerts' results,
   * and the job's own error when its lapse could not be recorded.
   */
  private async fireEndBatch(own: {
    alertId: string;
    endVersion: number;
  }): Promise<Map<string, FireResult | { error: unknown }>> {
    let settle: () => void = () => undefined;
    const committed = new Promise<void>((resolve) => (settle = resolve));
    let rows: MeasuredRow[] = [];
    try {
      rows = await this.takeDueEnds(own, committed);
      if (rows.length === 0) return new Map();
      const decisions = await mapLimit(rows, LAPSE_CONCURRENCY, (row) => this.decideEnd(row));
      const { results, staged } = await this.dataSource.transaction((manager) =>
        this.settleEnds(manager, rows, decisions),
      );
      for (const [id, result] of results) {
        this.remember(id, result.outcome === 'fired' ? 'fired' : 'cancelled');
      }
      const answers: Map<string, FireResult | { error: unknown }> = this.answers(
        results,
        await this.expandStaged(staged),
      );
      const ownIndex = rows.findIndex((row) => row.id === own.alertId);
      const ownDecision = decisions[ownIndex];
      if (ownDecision?.state === 'pending') answers.set(own.alertId, { error: ownDecision.error });
      return answers;
    } finally {
      for (const row of rows) this.claiming.delete(row.id);
      settle();
    }
  }

  /**
   * Due ends whose measure is known, not in the hands of another batch of this process, the
   * job's own first (due within the early tolerance), only when the job's own end is itself due
   * and pending (a stale or early job takes nothing). Batches take them one after another and
   * mark them in hand before the next one looks, so that they take disjoint sets; another
   * process may take the same ones, which the lapses' command ids and the marking's fence make
   * harmless.
   */
  private takeDueEnds(
    own: { alertId: string; endVersion: number },
    committed: Promise<void>,
  ): Promise<MeasuredRow[]> {
    const taken = this.taking.then(async () => {
      const now = this.clock.now();
      const rows: MeasuredRow[] = await this.dataSource.query(
        `SELECT a.id, a.measure_id, a.suspension_id, a.lead_time, a.fire_at, a.end_at,
                a.end_version, a.state, ${overdue('a')} AS overdue, m.state->'measure' AS measure
           FROM alert_schedule a JOIN alert_measures m ON m.measure_id = a.measure_id
          WHERE a.state = 'pending' AND a.lead_time = $2
            AND (a.fire_at <= $1 OR (a.id = $4 AND a.end_version = $5 AND a.fire_at <= $6))
            AND a.id <> ALL($7::uuid[])
            AND m.state->'measure' IS NOT NULL AND m.state->'measure' <> 'null'::jsonb
            AND ${caughtUp('a', 'm')}
            AND EXISTS (SELECT 1 FROM alert_schedule o
                         WHERE o.id = $4 AND o.end_version = $5 AND o.state = 'pending'
                           AND o.lead_time = $2 AND o.fire_at <= $6)
          ORDER BY a.id = $4 DESC, a.fire_at, a.id
          LIMIT $3`,
        [
          now,
          AT_END,
          LAPSE_BATCH,
          own.alertId,
          own.endVersion,
          new Date(now.getTime() + EARLY_TOLERANCE_MS),
          [...this.claiming.keys()],
        ],
      );
      for (const row of rows) this.claiming.set(row.id, committed);
      return rows;
    });
    this.taking = taken.catch(() => undefined);
    return taken;
  }

  /** Records one end's lapse and says what the batch does with its alert. */
  private async decideEnd(row: AlertRow): Promise<EndDecision> {
    try {
      const lapse = await this.recordLapse(row);
      if (isCancelling(lapse)) return { state: 'cancelled', reason: cancelReason(lapse) };
      return { state: 'fired', lapse };
    } catch (error) {
      return { state: 'pending', error };
    }
  }

  /**
   * Marks the batch's ends (fired, or cancelled when the suspension was not active) while they
   * are still pending at the end version they were taken at, and stages the fired ones'
   * messages: one agreements read, one staging. Returns the results of the rows it marked (the
   * fired ones' deliveries counted once written) and what it staged.
   */
  private async settleEnds(
    manager: EntityManager,
    rows: MeasuredRow[],
    decisions: EndDecision[],
  ): Promise<{ results: Map<string, FireResult & Partial<Observed>>; staged: StagedMessages }> {
    const marked = rows
      .map((row, index) => ({ row, decision: decisions[index] }))
      .filter(
        (
          item,
        ): item is { row: MeasuredRow; decision: Exclude<EndDecision, { state: 'pending' }> } =>
          item.decision.state !== 'pending',
      );
    const results = new Map<string, FireResult & Partial<Observed>>();
    const staged = new StagedMessages();
    if (marked.length === 0) return { results, staged };
    const now = this.clock.now();
    const [updated]: [{ id: string }[], number] = await manager.query(
      `UPDATE alert_schedule AS a
          SET state = t.state,
              fired_at = CASE WHEN t.state = 'fired' THEN $5::timestamptz ELSE a.fired_at END,
              cancelled_at = CASE WHEN t.state = 'cancelled' THEN $5::timestamptz
                                  ELSE a.cancelled_at END,
              outcome = t.outcome
         FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[])
                AS t (id, end_version, state, outcome),
              (SELECT id FROM alert_schedule
                WHERE id = ANY($1::uuid[]) AND state = 'pending'
                ORDER BY id
                FOR UPDATE SKIP LOCKED) AS held
        WHERE a.id = t.id AND held.id = t.id AND a.end_version = t.end_version
        RETURNING a.id`,
      [
        marked.map(({ row }) => row.id),
        marked.map(({ row }) => row.end_version),
        marked.map(({ decision }) => decision.state),
        marked.map(({ decision }) =>
          decision.state === 'fired' ? `lapse ${decision.lapse}` : `cancelled: ${decision.reason}`,
        ),
        now,
      ],
    );
    const ids = new Set(updated.map((row) => row.id));
    const fired: Array<{ row: MeasuredRow; lapse: LapseOutcome }> = [];
    for (const { row, decision } of marked) {
      if (!ids.has(row.id)) continue;
      if (decision.state === 'cancelled') {
        results.set(row.id, { outcome: 'cancelled', reason: decision.reason });
      } else {
        fired.push({ row, lapse: decision.lapse });
      }
    }
    if (fired.length === 0) return { results, staged };
    const agreements = await findAlertAgreements(
      manager,
      fired.map(({ row }) => suspensionOf(row)),
    );
    const messages: WebhookMessage[] = [];
    const owners: string[] = [];
    for (const [index, { row, lapse }] of fired.entries()) {
      for (const message of alertMessages(
        row.measure,
        factsOf(row),
        agreements[index],
        lapse,
        row.overdue,
      )) {
        messages.push(message);
        owners.push(row.id);
      }
    }
    const counts = await this.dispatcher.stageMany(manager, messages);
    owners.forEach((id, index) => staged.add(id, messages[index].messageKey, counts[index]));
    for (const { row, lapse } of fired) {
      results.set(row.id, {
        outcome: 'fired',
        latenessMs: now.getTime() - row.fire_at.getTime(),
        deliveries: 0,
        lapse,
        leadTime: row.lead_time,
        overdue: row.overdue,
      });
    }
    return { results, staged };
  }

  private remember(alertId: string, state: 'fired' | 'cancelled'): void {
    if (this.settled.size >= REMEMBERED) {
      // Oldest first (a Map keeps insertion order); a forgotten alert just takes the slow path.
      for (const id of [...this.settled.keys()].slice(0, REMEMBERED / 10)) {
        this.settled.delete(id);
      }
    }
    this.settled.set(alertId, state);
  }

  /**
   * One alert on its own: what the batches did not take — stale, early, not yet projected, an
   * end from a job that does not say its lead time, or claimed by another process's batch (the
   * row lock makes this wait for it, then find it fired). An end records its lapse first.
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
    if (!(await this.scheduleCaughtUp(row))) return { outcome: 'behind' };
    const lapse = row.lead_time === AT_END ? await this.recordLapse(row) : undefined;
    const result = await this.dataSource.transaction(async (manager) => {
      const locked = await this.load(manager, alertId, true);
      if (!locked || locked.state !== 'pending' || Number(locked.end_version) !== endVersion) {
        return { outcome: 'fenced', state: locked?.state ?? 'missing' } as const;
      }
      if (isCancelling(lapse)) {
        const reason = cancelReason(lapse);
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
        overdue: locked.overdue,
        ...(lapse && { lapse }),
      } as const;
    });
    return this.observed(result);
  }

  private observed(result: FireResult & Partial<Observed>): FireResult {
    if (result.outcome === 'fired' && result.leadTime && !result.overdue) {
      this.metrics.fireLateness.observe(
        { lead_time: result.leadTime },
        Math.max(0, result.latenessMs) / 1000,
      );
    }
    if (result.outcome !== 'fired') return result;
    const { leadTime: _leadTime, overdue: _overdue, ...fired } = result;
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
    const [agreements] = await findAlertAgreements(manager, [suspension]);
    const counts = await this.dispatcher.dispatchMany(
      manager,
      alertMessages(measure, factsOf(row), agreements, lapse, row.overdue),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /** Records the lapse as the system; a lapse already recorded (by a previous run) is done. */
  private async recordLapse(row: AlertRow): Promise<LapseOutcome> {
    const commandId = `lapse:${row.measure_id}:${row.suspension_id}:${row.end_version}`;
    try {
      await this.commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          row.measure_id,
          {
            action: 'lapse-suspension',
            suspensionId: row.suspension_id,
            endsAt: row.end_at.toISOString(),
          },
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
      // Revoked by the end (recorded after the schedule last looked): nothing lapses.
      if (error.code === 'measure-revoked') return 'revoked';
      // Not ended yet, or not this end any more: the schedule, once it has seen why, moves or
      // cancels the alert, and the job's retry finds that.
      if (error.code === 'suspension-not-ended' || error.code === 'suspension-end-moved')
        throw new LapseNotDueError(row.id);
      throw error;
    }
  }

  /** Whether the schedule has folded every event of the alert's measure (see `caughtUp`). */
  private async scheduleCaughtUp(row: AlertRow): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM alert_schedule a JOIN alert_measures m ON m.measure_id = a.measure_id
        WHERE a.id = $1 AND ${caughtUp('a', 'm')}`,
      [row.id],
    );
    return rows.length > 0;
  }

  private async load(
    manager: EntityManager,
    alertId: string,
    lock: boolean,
  ): Promise<AlertRow | undefined> {
    const rows: AlertRow[] = await manager.query(
      `SELECT id, measure_id, suspension_id, lead_time, fire_at, end_at, end_version, state,
              ${overdue('alert_schedule')} AS overdue
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

/**
 * What a fired alert sends: its warning (`suspension.expiring` at its lead time, `PT0S` at the
 * end itself), and at the end `suspension.lapsed` too once the lapse stands on the stream
 * (recorded now or by an earlier attempt). An end already past when its suspension was recorded
 * (`overdue`) warns of nothing: lead times before then are not sent late, and neither is this
 * one; its lapse is the news.
 */
function alertMessages(
  measure: Measure,
  facts: AlertFacts,
  agreements: SuspensionAgreements,
  lapse: LapseOutcome | undefined,
  overdue: boolean,
): WebhookMessage[] {
  const messages = overdue ? [] : [expiringMessage(measure, facts, agreements)];
  if (lapse === 'recorded' || lapse === 'already-lapsed') {
    messages.push(lapsedMessage(measure, facts, agreements));
  }
  return messages;
}

function suspensionOf(row: MeasuredRow) {
  return row.measure.suspensions.find((s) => s.id === row.suspension_id);
}

function cancelReason(lapse: Cancelling): string {
  if (lapse === 'revoked') return 'measure revoked';
  return lapse === 'not-found' ? 'suspension retracted' : 'suspension not active';
}

/** `work` over `items` with at most `limit` in flight; results in the items' order. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await work(items[index]);
    }
  });
  await Promise.all(lanes);
  return results;
}

/** The messages a committed batch staged, and the alerts they belong to. */
class StagedMessages {
  /** Staged message keys, in the order they were staged (those with no recipient are not). */
  readonly keys: string[] = [];
  private readonly owners: string[] = [];
  private readonly recipients: number[] = [];

  add(alertId: string, messageKey: string, recipients: number): void {
    if (recipients === 0) return;
    this.keys.push(messageKey);
    this.owners.push(alertId);
    this.recipients.push(recipients);
  }

  /**
   * Deliveries per alert: those written, by message, or, for a message left to the pump's
   * sweep (a failure, or a sweep that took it first), the recipients it was staged for.
   */
  deliveriesByAlert(written: Map<string, number>): Map<string, number> {
    const byAlert = new Map<string, number>();
    this.keys.forEach((key, index) => {
      const count = written.get(key) ?? this.recipients[index];
      byAlert.set(this.owners[index], (byAlert.get(this.owners[index]) ?? 0) + count);
    });
    return byAlert;
  }
}

/** At most `size` batches at once; the others wait their turn, first come first served. */
class BatchSlots {
  private taken = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly size: number) {}

  async take(): Promise<void> {
    while (this.taken >= this.size) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.taken += 1;
  }

  give(): void {
    this.taken -= 1;
    this.waiting.shift()?.();
  }
}
