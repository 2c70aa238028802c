import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { AlertQueries } from '@app/alerts';
import { ApiKeysModule } from '@app/api-keys';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStoreModule } from '@app/event-store';
import { ReadinessModule } from '@app/metrics';
import { allMigrations } from '@app/migrations';
import { RedisModule } from '@app/redis';
import { ProjectionsModule } from '@app/projections';
import { TradeModule } from '@app/trade';
import { ApiKeysHttpModule } from './api-keys/api-keys-http.module';
import { FeedTokenController } from './api-keys/feed-token.controller';
import { AlertsController } from './alerts/alerts.controller';
import { AgreementsReadController } from './agreements/agreements-read.controller';
import { AgreementsWriteController } from './agreements/agreements-write.controller';
import { EventsFeedController } from './events/events-feed.controller';
import { ExpiriesCalendarController } from './expiries/expiries-calendar.controller';
import { ExpiriesController } from './expiries/expiries.controller';
import { HealthController } from './health/health.controller';
import { MeasuresExportController } from './measures/measures-export.controller';
import { MeasuresReadController } from './measures/measures-read.controller';
import { MeasuresWriteController } from './measures/measures-write.controller';
import { MetricsHttpModule } from './metrics/metrics-http.module';
import { ApiHttpModule } from './http';
import { TariffSummaryController } from './tariffs/tariff-summary.controller';
import { TimelineController } from './timeline/timeline.controller';
import { WebhooksHttpModule } from './webhooks/webhooks-http.module';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      queryTimeout: true,
      applicationName: 'accord-api',
    }),
    RedisModule,
    EventStoreModule,
    CqrsModule.forRoot(),
    ApiHttpModule,
    ApiKeysHttpModule,
    WebhooksHttpModule,
    MetricsHttpModule,
    ReadinessModule,
    TradeModule,
    ProjectionsModule,
    ApiKeysModule,
  ],
  controllers: [
    HealthController,
    MeasuresWriteController,
    MeasuresReadController,
    AgreementsWriteController,
    AgreementsReadController,
    EventsFeedController,
    MeasuresExportController,
    ExpiriesController,
    ExpiriesCalendarController,
    TimelineController,
    TariffSummaryController,
    FeedTokenController,
    AlertsController,
  ],
  providers: [AlertQueries],
})
export class ApiModule {}
