import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStoreModule, type SubscriptionHandler } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import {
  AgreementStatusProjection,
  MeasureStatusProjection,
  ProjectionsModule,
} from '@app/projections';
import { ConditionalSuspensionStarter, TradeModule } from '@app/trade';
import { EventBusPublisher } from './subscriptions/event-bus-publisher';
import { SUBSCRIPTION_HANDLERS, SubscriptionHost } from './subscriptions/subscription-host';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      applicationName: 'accord-worker',
    }),
    EventStoreModule,
    CqrsModule.forRoot(),
    TradeModule,
    ProjectionsModule,
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
      ],
      useFactory: (...handlers: SubscriptionHandler[]) => handlers,
    },
    SubscriptionHost,
  ],
  exports: [SubscriptionHost],
})
export class WorkerModule {}
