import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { PG_POOL } from '@app/database';
import { EventStore, EventStoreModule } from '@app/event-store';
import { METRICS_REGISTRY, MetricsModule } from '@app/metrics';
import {
  WebhookDeliverer,
  WebhookDeliveryPump,
  WebhookDispatcher,
  WebhookEventPublisher,
  WebhookHttpClient,
  WebhookMetrics,
  WebhookUrlGuard,
  WebhooksModule,
} from '@app/webhooks';
import type { Pool } from 'pg';
import type { Registry } from 'prom-client';
import { WebhookDeliveryHost } from './webhook-delivery.host';

/**
 * Webhooks in the worker: the publisher of domain-event webhooks (a subscription handler the
 * worker module registers) and the delivery pump, which claims deliveries from PostgreSQL in
 * batches and sends them (no job queue: the table is the queue).
 */
@Module({
  imports: [WebhooksModule, MetricsModule, EventStoreModule],
  providers: [
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
          // An attempt lasts at most the timeout (queueing for a connection included); the rest
          // is for writing its outcome. As long as BullMQ's lock on a delivery job used to be.
          leaseMs: Math.max(30_000, config.WEBHOOK_TIMEOUT_MS * 2),
        }),
    },
    {
      provide: WebhookDeliveryPump,
      inject: [WebhookDeliverer, WebhookDispatcher, PG_POOL, ACCORD_CONFIG],
      useFactory: (
        deliverer: WebhookDeliverer,
        dispatcher: WebhookDispatcher,
        pool: Pool,
        config: AccordConfig,
      ) =>
        new WebhookDeliveryPump(
          deliverer,
          {
            databaseUrl: config.DATABASE_URL,
            concurrency: config.WEBHOOK_CONCURRENCY,
            pollIntervalMs: config.WEBHOOK_RELAY_POLL_MS,
            queryTimeoutMs: config.DATABASE_QUERY_TIMEOUT_MS,
          },
          // Messages a firing process staged and died before writing their deliveries.
          { dispatcher, runner: pool },
        ),
    },
    {
      provide: WebhookEventPublisher,
      inject: [EventStore, WebhookDispatcher],
      useFactory: (store: EventStore, dispatcher: WebhookDispatcher) =>
        new WebhookEventPublisher(store, dispatcher),
    },
    WebhookDeliveryHost,
  ],
  exports: [WebhookDeliveryPump, WebhookEventPublisher, WebhooksModule],
})
export class WebhooksWorkerModule implements OnApplicationShutdown {
  constructor(@Inject(WebhookHttpClient) private readonly http: WebhookHttpClient) {}

  async onApplicationShutdown(): Promise<void> {
    await this.http.close();
  }
}
