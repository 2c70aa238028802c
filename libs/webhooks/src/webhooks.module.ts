import { Module } from '@nestjs/common';
import { ACCORD_CONFIG, ConfigError, type AccordConfig } from '@app/config';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { WebhookDispatcher } from './webhook-dispatcher';
import { isSchedulableLeadTime, MAX_LEAD_TIME } from './webhook-matching';
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
        new WebhookDispatcher({ defaultLeadTimes: schedulableLeadTimes(config.ALERT_LEAD_TIMES) }),
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

/**
 * `ALERT_LEAD_TIMES` as given, or a start-up error naming the ones no alert could be scheduled
 * at (the schedule would drop them without a word).
 */
function schedulableLeadTimes(leadTimes: string[]): string[] {
  const refused = leadTimes.filter((leadTime) => !isSchedulableLeadTime(leadTime));
  if (refused.length) {
    throw new ConfigError([
      `ALERT_LEAD_TIMES: ${refused.join(', ')} must be durations from PT0S to ${MAX_LEAD_TIME}`,
    ]);
  }
  return leadTimes;
}
