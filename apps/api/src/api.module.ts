import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStoreModule } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { RedisModule } from '@app/redis';
import { ApiKeysHttpModule } from './api-keys/api-keys-http.module';
import { HealthController } from './health/health.controller';
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
  ],
  controllers: [HealthController],
})
export class ApiModule {}
