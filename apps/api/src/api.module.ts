import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStoreModule } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { RedisModule } from '@app/redis';
import { ProjectionsModule } from '@app/projections';
import { TradeModule } from '@app/trade';
import { ApiKeysHttpModule } from './api-keys/api-keys-http.module';
import { AgreementsReadController } from './agreements/agreements-read.controller';
import { AgreementsWriteController } from './agreements/agreements-write.controller';
import { EventsFeedController } from './events/events-feed.controller';
import { HealthController } from './health/health.controller';
import { MeasuresReadController } from './measures/measures-read.controller';
import { MeasuresWriteController } from './measures/measures-write.controller';
import { ApiHttpModule } from './http';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({
      migrations: allMigrations,
      migrate: true,
      applicationName: 'accord-api',
    }),
    RedisModule,
    EventStoreModule,
    CqrsModule.forRoot(),
    ApiHttpModule,
    ApiKeysHttpModule,
    TradeModule,
    ProjectionsModule,
  ],
  controllers: [
    HealthController,
    MeasuresWriteController,
    MeasuresReadController,
    AgreementsWriteController,
    AgreementsReadController,
    EventsFeedController,
  ],
})
export class ApiModule {}
