import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { WEBHOOK_DELIVERIES_QUEUE, bullOptions, type WebhookDeliveryJobData } from '@app/queues';
import { WebhookDeliverer, type DeliveryOutcome } from '@app/webhooks';
import { DelayedError, type Job, UnrecoverableError, Worker } from 'bullmq';

/**
 * Consumes `accord-webhook-deliveries`: one job per delivery, several at once, so one slow
 * endpoint does not hold the others. Retries are not BullMQ's: the deliverer writes the next
 * attempt time into the row, and the job is moved to delayed until then (same job id).
 */
@Injectable()
export class WebhookDeliveryProcessor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('WebhookDelivery');
  private worker: Worker<WebhookDeliveryJobData> | undefined;

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(WebhookDeliverer) private readonly deliverer: WebhookDeliverer,
  ) {}

  onApplicationBootstrap(): void {
    this.worker = new Worker<WebhookDeliveryJobData>(
      WEBHOOK_DELIVERIES_QUEUE,
      (job, token) => this.process(job, token),
      {
        ...bullOptions(this.config),
        concurrency: this.config.WEBHOOK_CONCURRENCY,
        // Longer than a request may take, so that a live attempt is never taken for stalled.
        lockDuration: Math.max(30_000, this.config.WEBHOOK_TIMEOUT_MS * 2),
        removeOnComplete: { count: 0 },
        removeOnFail: { count: 0 },
      },
    );
    this.worker.on('error', (error) => this.logger.warn(`Worker error: ${error.message}`));
  }

  async onApplicationShutdown(): Promise<void> {
    // Waits for the attempts in flight; their rows are written before their jobs complete.
    await this.worker?.close();
  }

  private async process(
    job: Job<WebhookDeliveryJobData>,
    token?: string,
  ): Promise<DeliveryOutcome> {
    const outcome = await this.deliverer.deliver(job.data.deliveryId);
    switch (outcome.kind) {
      case 'fenced':
      case 'succeeded':
        return outcome;
      case 'early':
      case 'retry':
        await job.moveToDelayed(outcome.at.getTime(), token);
        throw new DelayedError();
      case 'failed':
        throw new UnrecoverableError(outcome.reason);
      default: {
        const unknown: never = outcome;
        throw new Error(`Unknown delivery outcome ${JSON.stringify(unknown)}`);
      }
    }
  }
}
