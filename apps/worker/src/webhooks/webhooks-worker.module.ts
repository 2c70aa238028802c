import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { PG_POOL } from '@app/database';
import { EventStore, EventStoreModule } from '@app/event-store';
import { METRICS_REGISTRY, MetricsModule } from '@app/metrics';
import { WEBHOOK_DELIVERIES_QUEUE, bullOptions, type WebhookDeliveryJobData } from '@app/queues';
import {
  WebhookDeliverer,
  WebhookDeliveryRelay,
  WebhookDispatcher,
  WebhookEventPublisher,
  WebhookHttpClient,
  WebhookMetrics,
  WebhookUrlGuard,
  WebhooksModule,
} from '@app/webhooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookRelayHost } from './webhook-relay.host';

const DELIVERY_QUEUE = Symbol('WEBHOOK_DELIVERY_QUEUE');
const RELAY_REDIS = Symbol('WEBHOOK_RELAY_REDIS');

/**
 * Webhooks in the worker: the publisher of domain-event webhooks (a subscription handler the
 * worker module registers), the relay from the table to BullMQ, and the delivery processor.
 */
@Module({
  imports: [WebhooksModule, MetricsModule, EventStoreModule],
  providers: [
    {
      provide: DELIVERY_QUEUE,
      inject: [ACCORD_CONFIG],
      useFactory: (config: AccordConfig) => {
        const queue = new Queue<WebhookDeliveryJobData>(WEBHOOK_DELIVERIES_QUEUE, {
          ...bullOptions(config),
          defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
        });
        // ioredis reconnects by itself; the relay reports failed passes.
        queue.on('error', () => undefined);
        return queue;
      },
    },
    {
      provide: RELAY_REDIS,
      inject: [ACCORD_CONFIG],
      useFactory: (config: AccordConfig) =>
        new Redis(config.REDIS_URL, { maxRetriesPerRequest: null }),
    },
    {
      provide: WebhookMetrics,
      inject: [METRICS_REGISTRY],
      useFactory: (registry: Registry) => new WebhookMetrics(registry),
    },
    {
      provide: WebhookHttpClient,
      inject: [WebhookUrlGuard, ACCORD_CONFIG],
      useFactory: (guard: WebhookUrlGuard, config: AccordConfig) =>
        new WebhookHttpClient(guard, {
          connectTimeoutMs: config.WEBHOOK_CONNECT_TIMEOUT_MS,
          timeoutMs: config.WEBHOOK_TIMEOUT_MS,
          maxResponseBytes: config.WEBHOOK_MAX_RESPONSE_BYTES,
          connectionsPerOrigin: config.WEBHOOK_CONCURRENCY,
        }),
    },
    {
      provide: WebhookDeliverer,
      inject: [PG_POOL, WebhookHttpClient, WebhookMetrics, ACCORD_CONFIG],
      useFactory: (
        pool: Pool,
        http: WebhookHttpClient,
        metrics: WebhookMetrics,
        config: AccordConfig,
      ) =>
        new WebhookDeliverer(pool, http, metrics, {
          retry: {
            baseDelayMs: config.WEBHOOK_RETRY_BASE_MS,
            maxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_MS,
            windowMs: config.WEBHOOK_RETRY_WINDOW_MS,
          },
          disableAfterFailures: config.WEBHOOK_DISABLE_AFTER_FAILURES,
        }),
    },
    {
      provide: WebhookDeliveryRelay,
      inject: [PG_POOL, DELIVERY_QUEUE, RELAY_REDIS, ACCORD_CONFIG],
      useFactory: (
        pool: Pool,
        queue: Queue<WebhookDeliveryJobData>,
        redis: Redis,
        config: AccordConfig,
      ) =>
        new WebhookDeliveryRelay(pool, queue, redis, {
          databaseUrl: config.DATABASE_URL,
          pollIntervalMs: config.WEBHOOK_RELAY_POLL_MS,
          sweepIntervalMs: config.WEBHOOK_RELAY_SWEEP_MS,
        }),
    },
    {
      provide: WebhookEventPublisher,
      inject: [EventStore, WebhookDispatcher],
      useFactory: (store: EventStore, dispatcher: WebhookDispatcher) =>
        new WebhookEventPublisher(store, dispatcher),
    },
    WebhookDeliveryProcessor,
    WebhookRelayHost,
  ],
  exports: [WebhookDeliveryRelay, WebhookEventPublisher, WebhooksModule],
})
export class WebhooksWorkerModule implements OnApplicationShutdown {
  constructor(
    @Inject(DELIVERY_QUEUE) private readonly queue: Queue,
    @Inject(RELAY_REDIS) private readonly redis: Redis,
    @Inject(WebhookHttpClient) private readonly http: WebhookHttpClient,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
    await this.http.close();
  }
}
