import { Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { METRICS_REGISTRY } from '@app/metrics';
import { closeBull } from '@app/queues';
import { TradeModule } from '@app/trade';
import { WebhooksModule } from '@app/webhooks';
import { Redis } from 'ioredis';
import { register, type Registry } from 'prom-client';
import { ALERT_CLOCK, systemClock } from './alert-clock';
import { AlertMetrics } from './alert-metrics';
import { AlertQueries } from './alert-queries';
import { AlertFirer } from './fire/alert-firer';
import { ALERT_QUEUE, createAlertQueue, type AlertQueue } from './queue/alert-queue';
import { ALERT_REDIS, AlertReconciler } from './reconcile/alert-reconciler';
import { AlertRelay } from './relay/alert-relay';
import { AlertLeadTimeTopUp } from './schedule/alert-lead-time-top-up';
import { AlertScheduleProjection } from './schedule/alert-schedule.projection';

/**
 * Expiry alerts: the schedule projection (run by the worker's subscription host), the relay and
 * reconciler that keep BullMQ in step with it, and the fenced firer the worker's processor calls.
 * Their metrics are registered here, on the process's registry (`MetricsModule`, global, in the
 * worker; prom-client's default one elsewhere), so only where alerts fire and are reconciled.
 */
@Module({
  imports: [CqrsModule, TradeModule, WebhooksModule],
  providers: [
    { provide: ALERT_CLOCK, useValue: systemClock },
    {
      provide: AlertMetrics,
      inject: [{ token: METRICS_REGISTRY, optional: true }],
      useFactory: (registry: Registry | undefined) => new AlertMetrics(registry ?? register),
    },
    { provide: ALERT_QUEUE, inject: [ACCORD_CONFIG], useFactory: createAlertQueue },
    {
      provide: ALERT_REDIS,
      inject: [ACCORD_CONFIG],
      useFactory: (config: AccordConfig) => {
        const redis = new Redis(config.REDIS_URL, {
          maxRetriesPerRequest: null,
          connectionName: `${config.REDIS_PREFIX}:alerts-reconciler`,
        });
        // ioredis reconnects by itself; the reconciler's next run reports what failed.
        redis.on('error', (error: Error) => new Logger('AlertRedis').debug(error.message));
        return redis;
      },
    },
    AlertScheduleProjection,
    AlertLeadTimeTopUp,
    AlertFirer,
    AlertRelay,
    AlertReconciler,
    AlertQueries,
  ],
  exports: [
    AlertLeadTimeTopUp,
    AlertMetrics,
    ALERT_CLOCK,
    ALERT_QUEUE,
    AlertScheduleProjection,
    AlertFirer,
    AlertRelay,
    AlertReconciler,
    AlertQueries,
  ],
})
export class AlertsModule implements OnApplicationShutdown {
  constructor(
    @Inject(ALERT_QUEUE) private readonly queue: AlertQueue,
    @Inject(ALERT_REDIS) private readonly redis: Redis,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // A queue's graceful close is one QUIT, which would wait for ever behind the commands
    // ioredis holds while Redis is away.
    await closeBull(this.queue, 5_000);
    this.redis.disconnect();
  }
}
