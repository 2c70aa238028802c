import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import {
  ALERT_CLOCK,
  ALERT_QUEUE,
  AlertReconciler,
  AlertRelay,
  type AlertClock,
  type AlertQueue,
} from '@app/alerts';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import {
  ALERT_RECONCILE_JOB,
  ALERT_RECONCILE_SCHEDULER,
  redisAnswers,
  settlesWithin,
} from '@app/queues';

/** After a loss, alerts due within this horizon are put back before anything else. */
const URGENT_HORIZON_MS = 15 * 60_000;

/**
 * Keeps the alert machinery running in the worker: the relay (pending rows → delayed jobs), the
 * reconciler's BullMQ job scheduler, a reconciliation at start, and a watchdog. The scheduler
 * lives in Redis, so a flush or a restart without persistence takes it away with the jobs: the
 * watchdog notices it is gone, re-creates at once the jobs of alerts due within the next minutes,
 * reconciles the rest of the schedule in the background (giving way to the fire jobs waiting to
 * run), and puts the scheduler back.
 */
@Injectable()
export class AlertsScheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('AlertsScheduler');
  private readonly stopping = new AbortController();
  private watchdog: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private full: Promise<void> | undefined;
  private fullAgain = false;

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(ALERT_QUEUE) private readonly queue: AlertQueue,
    @Inject(AlertRelay) private readonly relay: AlertRelay,
    @Inject(AlertReconciler) private readonly reconciler: AlertReconciler,
    @Inject(ALERT_CLOCK) private readonly clock: AlertClock,
  ) {}

  onApplicationBootstrap(): void {
    this.relay.start(this.config.ALERT_RELAY_POLL_MS);
    this.checking = this.recover('worker start').finally(() => (this.checking = undefined));
    this.watchdog = setInterval(() => {
      this.checking ??= this.check().finally(() => (this.checking = undefined));
    }, this.config.ALERT_WATCHDOG_MS);
  }

  /**
   * Lets the relay pass and the reconciliation in progress finish while Redis answers. While it
   * does not, their commands wait for a reconnection that may never come: they are left behind,
   * and what they were adding stays pending in PostgreSQL for the next relay or reconciliation.
   */
  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.watchdog);
    this.stopping.abort();
    const work = Promise.allSettled([this.checking, this.full, this.relay.stop()]);
    const answers = await redisAnswers(this.queue);
    const graceMs = answers ? this.config.SHUTDOWN_TIMEOUT_MS / 2 : 0;
    if (!(await settlesWithin(work, graceMs))) {
      this.logger.warn(
        'Stopped before the alert relay and reconciliation finished (' +
          (answers ? `they outlasted ${graceMs / 1000} s` : 'Redis did not answer') +
          '); the alerts they were adding stay pending in PostgreSQL',
      );
    }
  }

  private async check(): Promise<void> {
    try {
      const scheduler = await this.queue.getJobScheduler(ALERT_RECONCILE_SCHEDULER);
      if (!scheduler) await this.recover('the reconcile scheduler is missing from Redis');
    } catch (error) {
      this.logger.warn(`Alert watchdog: ${(error as Error).message}`);
    }
  }

  /**
   * The alerts due soon first, then the rest in the background, and only then the job scheduler:
   * its first run comes at once, and finds the background pass running (and skips).
   */
  private async recover(reason: string): Promise<void> {
    try {
      const until = new Date(this.clock.now().getTime() + URGENT_HORIZON_MS);
      const urgent = await this.reconciler.reconcile({ until, signal: this.stopping.signal });
      this.logger.log(
        `Reconciled alerts due within ${URGENT_HORIZON_MS / 60_000} min (${reason}): ` +
          `${urgent.recreated} job(s) re-created, ${urgent.overdue} overdue`,
      );
    } catch (error) {
      this.logger.warn(`Alert reconciliation (${reason}) failed: ${(error as Error).message}`);
    }
    this.reconcileAll();
    try {
      await this.queue.upsertJobScheduler(
        // BullMQ types the scheduler id as a job name; it is an id of its own.
        ALERT_RECONCILE_SCHEDULER as typeof ALERT_RECONCILE_JOB,
        { every: this.config.ALERT_RECONCILE_EVERY_MS },
        {
          name: ALERT_RECONCILE_JOB,
          data: {},
          opts: { removeOnComplete: true, removeOnFail: { count: 100 } },
        },
      );
    } catch (error) {
      this.logger.warn(`Alert reconcile scheduler (${reason}): ${(error as Error).message}`);
    }
  }

  /** One full pass at a time; a loss noticed during a pass asks for another one after it. */
  private reconcileAll(): void {
    if (this.full) {
      this.fullAgain = true;
      return;
    }
    this.full = (async () => {
      do {
        this.fullAgain = false;
        const report = await this.reconciler.reconcile({
          signal: this.stopping.signal,
          background: true,
        });
        if (report.recreated) {
          this.logger.log(`Full alert reconciliation: ${report.recreated} job(s) re-created`);
        }
      } while (this.fullAgain && !this.stopping.signal.aborted);
    })()
      .catch((error: Error) => this.logger.warn(`Alert reconciliation failed: ${error.message}`))
      .finally(() => (this.full = undefined));
  }
}
