import { Module } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';

/**
 * The dispatcher for producers (alerts, the domain-event publisher, the test ping), the URL
 * guard, and the subscriptions service of the admin API. Delivery itself runs in the worker.
 */
@Module({
  providers: [
    {
      provide: WebhookDispatcher,
      inject: [ACCORD_CONFIG],
      useFactory: (config: AccordConfig) =>
        // Config has refused lead times no alert could be scheduled at.
        new WebhookDispatcher({ defaultLeadTimes: config.ALERT_LEAD_TIMES }),
    },
    {
      provide: WebhookUrlGuard,
      inject: [ACCORD_CONFIG],
      useFactory: (config: AccordConfig) =>
        new WebhookUrlGuard({ allowPrivateNetworks: config.WEBHOOK_ALLOW_PRIVATE_NETWORKS }),
    },
    {
      provide: WebhookSubscriptionsService,
      inject: [PG_POOL, WebhookDispatcher, WebhookUrlGuard, ACCORD_CONFIG],
      useFactory: (
        pool: Pool,
        dispatcher: WebhookDispatcher,
        guard: WebhookUrlGuard,
        config: AccordConfig,
      ) =>
        new WebhookSubscriptionsService(pool, dispatcher, guard, {
          secretGraceMs: config.WEBHOOK_SECRET_GRACE_MS,
        }),
    },
  ],
  exports: [WebhookDispatcher, WebhookUrlGuard, WebhookSubscriptionsService],
})
export class WebhooksModule {}
