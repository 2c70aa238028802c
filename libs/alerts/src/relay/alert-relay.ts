import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { alertJobId } from '@app/queues';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { ALERT_QUEUE, fireJob, type AlertQueue, type SchedulableAlert } from '../queue/alert-queue';
import { AlertLeadTimeTopUp } from '../schedule/alert-lead-time-top-up';

/** Stale jobs removed per pass. */
const STALE_CHUNK = 1000;

/**
 * Moves committed `pending` rows into BullMQ delayed jobs (issue 5, scope 2): the projection
 * never talks to Redis (no dual write), the relay follows its rows. A row is marked `enqueued_at`
 * after its job was added, so a crash in between only adds the same job id again, which BullMQ
 * ignores. Several relays may run: they add the same ids.
 *
 * Each pass of its loop also tops up the schedule with lead times subscribed since
 * (`AlertLeadTimeTopUp`) and removes the delayed jobs of alerts cancelled or moved after their
 * job was added (`removeStaleJobs`): the fence would stop them, but they would sit in Redis and
 * wake the worker for nothing.
 */
@Injectable()
export class AlertRelay {
  private readonly logger = new Logger('AlertRelay');
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ALERT_QUEUE) private readonly queue: AlertQueue,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
    @Inject(AlertLeadTimeTopUp) private readonly topUp: AlertLeadTimeTopUp,
  ) {}

  /**
   * Removes the jobs of cancelled rows that had one, then marks them. A job running right now
   * cannot be removed (BullMQ answers 0): it finds its row cancelled and does nothing. Returns
   * how many rows were handled.
   */
  async removeStaleJobs(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: { id: string; end_version: string }[] = await this.dataSource.query(
        `SELECT id, end_version FROM alert_schedule
          WHERE state = 'cancelled' AND enqueued_at IS NOT NULL AND job_removed_at IS NULL
          ORDER BY cancelled_at, id LIMIT $1`,
        [STALE_CHUNK],
      );
      if (rows.length === 0) return total;
      await Promise.all(
        rows.map((row) => this.queue.remove(alertJobId(row.id, Number(row.end_version)))),
      );
      await this.dataSource.query(
        'UPDATE alert_schedule SET job_removed_at = $2 WHERE id = ANY($1::uuid[])',
        [rows.map((row) => row.id), this.clock.now()],
      );
      total += rows.length;
      if (rows.length < STALE_CHUNK) return total;
    }
  }

  /** Enqueues up to `limit` rows not enqueued yet, soonest first; returns them. */
  async relayOnce(limit = 1000): Promise<SchedulableAlert[]> {
    const rows = await this.select(limit);
    if (rows.length === 0) return rows;
    const now = this.clock.now();
    await this.queue.addBulk(rows.map((row) => fireJob(row, now)));
    await this.markEnqueued(rows, now);
    return rows;
  }

  /**
   * Relays until no row is left; returns how many. Chunks overlap: the next one is read while
   * the current one goes to Redis, and a chunk is marked while the next goes to Redis (always
   * after its own jobs were added).
   */
  async drain(limit = 1000): Promise<number> {
    let total = 0;
    let marking: Promise<void> = Promise.resolve();
    let rows = await this.select(limit);
    while (rows.length > 0) {
      const next = rows.length === limit ? this.select(limit, rows[rows.length - 1]) : undefined;
      // Awaited below; if adding this chunk fails first, its failure is not left unhandled.
      next?.catch(() => undefined);
      const now = this.clock.now();
      try {
        await this.queue.addBulk(rows.map((row) => fireJob(row, now)));
      } finally {
        await marking;
      }
      marking = this.markEnqueued(rows, now);
      total += rows.length;
      rows = next ? await next : [];
    }
    await marking;
    return total;
  }

  /**
   * Soonest first, after `after` (the last row of the previous chunk of a pass): the cursor keeps
   * a pass from walking again over the index entries of rows it has just marked (dead until
   * vacuumed), which would make a large backlog quadratic.
   */
  private select(limit: number, after?: SchedulableAlert): Promise<SchedulableAlert[]> {
    return this.dataSource.query(
      `SELECT id, end_version, fire_at, lead_time FROM alert_schedule
        WHERE state = 'pending' AND enqueued_at IS NULL
          AND ($2::timestamptz IS NULL OR (fire_at, id) > ($2, $3::uuid))
        ORDER BY fire_at, id LIMIT $1`,
      [limit, after?.fire_at ?? null, after?.id ?? null],
    );
  }

  private async markEnqueued(rows: SchedulableAlert[], now: Date): Promise<void> {
    await this.dataSource.query(
      `UPDATE alert_schedule SET enqueued_at = $2
        WHERE id = ANY($1::uuid[]) AND enqueued_at IS NULL`,
      [rows.map((row) => row.id), now],
    );
  }

  /** Polls every `pollMs` (and at once after a batch that filled its limit). */
  start(pollMs: number): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.topUp.run();
          await this.drain();
          await this.removeStaleJobs();
        } catch (error) {
          this.logger.warn(`Relay failed, will retry: ${(error as Error).message}`);
        }
        await this.sleep(pollMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
