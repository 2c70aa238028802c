import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AlertScheduleProjection, AlertsModule } from '@app/alerts';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStoreModule, type SubscriptionHandler } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import {
  AgreementStatusProjection,
  MeasureStatusProjection,
  ProjectionsModule,
  SuspensionEndsProjection,
  TimelineProjection,
} from '@app/projections';
import { RedisModule } from '@app/redis';
import { ConditionalSuspensionStarter, TradeModule } from '@app/trade';
import { WebhookEventPublisher } from '@app/webhooks';
import { AlertsProcessor } from './alerts/alerts.processor';
import { AlertsScheduler } from './alerts/alerts-scheduler';
import { WorkerMetricsModule } from './metrics/worker-metrics.module';
import { EventBusPublisher } from './subscriptions/event-bus-publisher';
import { SUBSCRIPTION_HANDLERS, SubscriptionHost } from './subscriptions/subscription-host';
import { WebhooksWorkerModule } from './webhooks/webhooks-worker.module';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      queryTimeout: true,
      applicationName: 'accord-worker',
    }),
    // The shared connection the health checks ping (alerts and BullMQ keep their own).
    RedisModule,
    EventStoreModule,
    CqrsModule.forRoot(),
    TradeModule,
    ProjectionsModule,
    WorkerMetricsModule,
    WebhooksWorkerModule,
    AlertsModule,
  ],
  providers: [
    EventBusPublisher,
    {
      provide: SUBSCRIPTION_HANDLERS,
      inject: [
        EventBusPublisher,
        ConditionalSuspensionStarter,
        MeasureStatusProjection,
        AgreementStatusProjection,
        SuspensionEndsProjection,
        TimelineProjection,
        AlertScheduleProjection,
        WebhookEventPublisher,
      ],
      useFactory: (...handlers: SubscriptionHandler[]) => handlers,
    },
    SubscriptionHost,
    AlertsProcessor,
    AlertsScheduler,
  ],
  exports: [SubscriptionHost],
})
export class WorkerModule {}
