import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { AlertFirer, AlertReconciler } from '@app/alerts';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import {
  ALERT_FIRE_JOB,
  ALERT_RECONCILE_JOB,
  ALERTS_QUEUE,
  bullOptions,
  closeBull,
  logRedisOutages,
  settlesWithin,
  type AlertFireJobData,
  type AlertJob,
} from '@app/queues';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';

type AlertWorkerJob = Job<AlertJob['data'], unknown, AlertJob['name']>;

/**
 * The BullMQ consumer of `accord-alerts`. Thin on purpose: the fence, the lapse and the dispatch
 * live in `AlertFirer`, the recovery in `AlertReconciler`. Closed before the app shuts down, so
 * that a job in hand finishes (or, if Redis does not answer or the process dies, is taken over
 * once its lock expires: the fence makes a second run harmless).
 */
/** After this many waits for the schedule (about three minutes), a job says it is waiting. */
const BEHIND_WARN_AFTER = 9;

@Injectable()
export class AlertsProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AlertsProcessor');
  private worker: Worker<AlertJob['data'], unknown, AlertJob['name']> | undefined;
  /** The jobs this process is running: their PostgreSQL work ends before the pool closes. */
  private readonly inHand = new Set<Promise<unknown>>();

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(AlertFirer) private readonly firer: AlertFirer,
    @Inject(AlertReconciler) private readonly reconciler: AlertReconciler,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker<AlertJob['data'], unknown, AlertJob['name']>(
      ALERTS_QUEUE,
      (job, token) => this.track(this.process(job, token)),
      {
        ...bullOptions(this.config),
        concurrency: this.config.ALERT_WORKER_CONCURRENCY,
        lockDuration: this.config.ALERT_JOB_LOCK_MS,
        stalledInterval: this.config.ALERT_JOB_LOCK_MS,
        // A job whose worker died twice is failed, not lost: the reconciler re-creates it.
        maxStalledCount: 1,
      },
    );
    this.worker.on('failed', (job, error) =>
      this.logger.warn(`Alert job ${job?.id ?? '?'} failed: ${error.message}`),
    );
    logRedisOutages(this.worker, this.logger, 'Alert worker');
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.worker) return;
    const graceMs = this.config.SHUTDOWN_TIMEOUT_MS / 2;
    const deadline = Date.now() + graceMs;
    const closed = await closeBull(this.worker, graceMs);
    if (closed === 'closed') return;
    const running = this.inHand.size;
    const finished = await settlesWithin(
      Promise.allSettled(this.inHand),
      Math.max(0, deadline - Date.now()),
    );
    this.logger.warn(
      (closed === 'redis-away'
        ? 'Alert worker closed without waiting for Redis (it did not answer)'
        : `Alert worker closed before its jobs in hand finished (they outlasted ${graceMs / 1000} s)`) +
        (running
          ? `: ${running} job(s) in hand ${finished ? 'finished' : 'left unfinished'}, unrecorded; they run again once their locks expire`
          : ''),
    );
  }

  /**
   * The alert schedule has not yet seen every event of the alert's measure (a worker just
   * started, or the schedule's runner is stuck): the job waits for it, not as a failure, a
   * second first and twice as long each time after, up to a minute; a wait past a few minutes
   * is said, since only a schedule that does not run explains it.
   */
  private async waitForSchedule(
    job: AlertWorkerJob,
    data: AlertFireJobData,
    token?: string,
  ): Promise<never> {
    const waits = (data.behind ?? 0) + 1;
    await job.updateData({ ...data, behind: waits });
    if (waits === BEHIND_WARN_AFTER) {
      this.logger.warn(
        `Alert ${data.alertId} has waited ${waits} times for the alert schedule to catch up ` +
          `with its measure: is projection:alert-schedule running?`,
      );
    }
    await job.moveToDelayed(Date.now() + Math.min(60_000, 1000 * 2 ** (waits - 1)), token);
    throw new DelayedError();
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.inHand.add(work);
    return work.finally(() => this.inHand.delete(work));
  }

  private async process(job: AlertWorkerJob, token?: string): Promise<unknown> {
    const name = job.name;
    switch (name) {
      case ALERT_FIRE_JOB: {
        const data = job.data as AlertFireJobData;
        const result = await this.firer.fire(data.alertId, data.endVersion, data.leadTime);
        if (result.outcome === 'not-due') {
          // Taken before its time (clocks disagree): put it back until then, not as a failure.
          await job.moveToDelayed(result.fireAt.getTime(), token);
          throw new DelayedError();
        }
        if (result.outcome === 'behind') await this.waitForSchedule(job, data, token);
        return result;
      }
      case ALERT_RECONCILE_JOB:
        // The periodic safety net: a full pass already running here (the watchdog's) covers it.
        return this.reconciler.reconcile({ background: true, unlessRunning: true });
      default: {
        const unknown: never = name;
        throw new UnrecoverableError(`No handler for alert job ${String(unknown)}`);
      }
    }
  }
}
