import { Inject, Injectable, Logger } from '@nestjs/common';
import { alertJobId } from '@app/queues';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { AlertMetrics } from '../alert-metrics';
import { AlertFirer } from '../fire/alert-firer';
import { ALERT_QUEUE, fireJob, type AlertQueue, type SchedulableAlert } from '../queue/alert-queue';

export const ALERT_REDIS = Symbol('ALERT_REDIS');

/** An overdue job is left alone this long (it may be finishing right now) before it is checked. */
const SETTLE_MS = 5000;
const CHUNK = 2000;
/**
 * A background pass waits at most this long before each chunk while fire jobs are waiting, and
 * looks again this often: alerts due now go first, but a busy queue never stops the pass.
 */
const YIELD_MAX_MS = 2000;
const YIELD_POLL_MS = 50;

export interface ReconcileReport {
  /** Pending rows looked at. */
  pending: number;
  /** Of them, due already. */
  overdue: number;
  /** Jobs that were missing (or dead) in Redis and were added again. */
  recreated: number;
  /** Overdue alerts fired by the reconciler itself (`fireInline`). */
  firedInline: number;
  /** Fired alerts whose first successful delivery was copied to `delivered_at`. */
  delivered: number;
  ms: number;
  /** Not run: `unlessRunning` found another full pass running in this process. */
  skipped?: boolean;
}

export interface ReconcileOptions {
  /** Only rows due before this instant (a quick pass for what is due now or soon). */
  until?: Date;
  /** Stops between chunks (shutdown); the report covers what was done. */
  signal?: AbortSignal;
  /**
   * Fire overdue alerts in this process instead of enqueueing them (the CLI, which runs no
   * BullMQ worker). Either way the firing is fenced, so a worker doing the same is harmless.
   */
  fireInline?: boolean;
  /**
   * A pass in the background of a worker: before each chunk it gives way (up to
   * `YIELD_MAX_MS`) while fire jobs are waiting in the queue. After a loss the alerts due soon
   * are put back first by a pass with `until`; the background pass restoring the rest would
   * otherwise compete with their firing for Redis, PostgreSQL and the CPU.
   */
  background?: boolean;
  /** Skip the pass when a full pass is already running in this process (the periodic job). */
  unlessRunning?: boolean;
}

/**
 * Makes Redis agree with PostgreSQL again (issue 5, scope 3): every `pending` row gets its job
 * back if Redis lost it (a flush, a restart without persistence, a job that died after its
 * retries), and overdue alerts fire. Run at worker start, by a BullMQ job scheduler, when the
 * worker notices its scheduler is gone, and by hand (`npm run cli -- alerts:reconcile`).
 * Idempotent: jobs are added under their deterministic ids.
 */
@Injectable()
export class AlertReconciler {
  private readonly logger = new Logger('AlertReconciler');

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ALERT_QUEUE) private readonly queue: AlertQueue,
    @Inject(ALERT_REDIS) private readonly redis: Redis,
    @Inject(AlertFirer) private readonly firer: AlertFirer,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
    @Inject(AlertMetrics) private readonly metrics: AlertMetrics,
  ) {}

  /** Full passes (no `until`) running in this process. */
  private fullPasses = 0;

  async reconcile(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    const started = Date.now();
    const report: ReconcileReport = {
      pending: 0,
      overdue: 0,
      recreated: 0,
      firedInline: 0,
      delivered: 0,
      ms: 0,
    };
    const full = !options.until;
    if (full && options.unlessRunning && this.fullPasses > 0) return { ...report, skipped: true };
    if (full) this.fullPasses += 1;
    try {
      return await this.pass(options, report, started);
    } finally {
      if (full) this.fullPasses -= 1;
    }
  }

  private async pass(
    options: ReconcileOptions,
    report: ReconcileReport,
    started: number,
  ): Promise<ReconcileReport> {
    // Soonest first: after a flush, what is due comes back before what is due next year.
    let after: { fireAt: Date; id: string } | undefined;
    while (!options.signal?.aborted) {
      if (options.background) await this.giveWay(options.signal);
      const rows: SchedulableAlert[] = await this.dataSource.query(
        `SELECT id, end_version, fire_at, lead_time FROM alert_schedule
          WHERE state = 'pending' AND ($1::timestamptz IS NULL OR (fire_at, id) > ($1, $2::uuid))
            AND ($4::timestamptz IS NULL OR fire_at < $4)
          ORDER BY fire_at, id LIMIT $3`,
        [after?.fireAt ?? null, after?.id ?? null, CHUNK, options.until ?? null],
      );
      if (rows.length === 0) break;
      await this.reconcileChunk(rows, report, options);
      const last = rows[rows.length - 1];
      after = { fireAt: last.fire_at, id: last.id };
      if (rows.length < CHUNK) break;
    }
    if (!options.until && !options.signal?.aborted) report.delivered = await this.syncDelivered();
    report.ms = Date.now() - started;
    if (report.recreated || report.firedInline) {
      this.logger.log(
        `Re-created ${report.recreated} alert job(s) and fired ${report.firedInline} inline ` +
          `(${report.pending} pending, ${report.overdue} overdue) in ${report.ms} ms`,
      );
    }
    return report;
  }

  /** Waits while fire jobs are waiting to run, up to `YIELD_MAX_MS`. */
  private async giveWay(signal: AbortSignal | undefined): Promise<void> {
    const until = Date.now() + YIELD_MAX_MS;
    while (Date.now() < until && !signal?.aborted && (await this.queue.getWaitingCount()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, YIELD_POLL_MS));
    }
  }

  /**
   * Copies the first successful delivery of each recently fired alert into `delivered_at`, so
   * that the schedule shows intended, fired and delivered times side by side.
   */
  async syncDelivered(): Promise<number> {
    const [, updated] = await this.dataSource.query<[unknown, number]>(
      `WITH todo AS (
         SELECT id FROM alert_schedule
          WHERE state = 'fired' AND delivered_at IS NULL AND fired_at > now() - interval '30 days'
       ), first AS (
         SELECT t.id, (SELECT min(w.delivered_at) FROM webhook_deliveries w
                        WHERE w.message_key IN ('alert:' || t.id, 'alert:' || t.id || ':lapsed')
                          AND w.delivered_at IS NOT NULL) AS delivered_at
           FROM todo t
       )
       UPDATE alert_schedule a SET delivered_at = first.delivered_at
         FROM first WHERE a.id = first.id AND first.delivered_at IS NOT NULL`,
    );
    return updated;
  }

  private async reconcileChunk(
    rows: SchedulableAlert[],
    report: ReconcileReport,
    options: ReconcileOptions,
  ): Promise<void> {
    const now = this.clock.now();
    const jobIds = rows.map((row) => alertJobId(row.id, Number(row.end_version)));
    const pipeline = this.redis.pipeline();
    for (const jobId of jobIds) pipeline.exists(this.queue.toKey(jobId));
    const exists = ((await pipeline.exec()) ?? []).map(([error, count]) => {
      if (error) throw error;
      return count === 1;
    });
    const missing: SchedulableAlert[] = [];
    for (const [index, row] of rows.entries()) {
      const overdue = row.fire_at.getTime() <= now.getTime();
      report.pending += 1;
      if (overdue) report.overdue += 1;
      if (!exists[index]) {
        missing.push(row);
        continue;
      }
      // A job that is there but finished or failed for good will never fire this row again.
      if (overdue && row.fire_at.getTime() <= now.getTime() - SETTLE_MS) {
        const state = await this.queue.getJobState(jobIds[index]);
        if (state === 'completed' || state === 'failed' || state === 'unknown') {
          await this.queue.remove(jobIds[index]);
          missing.push(row);
        }
      }
    }
    if (missing.length === 0) return;
    let toEnqueue = missing;
    if (options.fireInline) {
      toEnqueue = [];
      for (const row of missing) {
        if (row.fire_at.getTime() > now.getTime()) {
          toEnqueue.push(row);
          continue;
        }
        try {
          const result = await this.firer.fire(row.id, Number(row.end_version), row.lead_time);
          if (result.outcome === 'fired' || result.outcome === 'cancelled') report.firedInline += 1;
          else toEnqueue.push(row);
        } catch (error) {
          this.logger.warn(`Alert ${row.id} failed inline, enqueued: ${(error as Error).message}`);
          toEnqueue.push(row);
        }
      }
    }
    if (toEnqueue.length === 0) return;
    await this.queue.addBulk(toEnqueue.map((row) => fireJob(row, now)));
    // Another reconciler (the worker's, a CLI run) or the relay may be marking the same rows:
    // in id order, so that two such statements take their locks in one order; and once more if
    // PostgreSQL still picks this one as a deadlock's victim (setting the mark twice is harmless).
    await retryOnDeadlock(() =>
      this.dataSource.query(
        `UPDATE alert_schedule SET enqueued_at = $2
          WHERE id IN (SELECT id FROM alert_schedule WHERE id = ANY($1::uuid[])
                        ORDER BY id FOR UPDATE)`,
        [toEnqueue.map((row) => row.id), now],
      ),
    );
    report.recreated += toEnqueue.length;
    this.metrics.jobsRecreated.inc(toEnqueue.length);
  }
}

/** SQLSTATE 40P01: PostgreSQL ended this statement to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/** Runs an idempotent statement again when it is a deadlock's victim, up to three tries. */
export async function retryOnDeadlock<T>(statement: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await statement();
    } catch (error) {
      const code = (error as { code?: unknown; driverError?: { code?: unknown } }).code;
      const driverCode = (error as { driverError?: { code?: unknown } }).driverError?.code;
      const deadlock = code === DEADLOCK_DETECTED || driverCode === DEADLOCK_DETECTED;
      if (!deadlock || attempt >= tries) throw error;
    }
  }
}
