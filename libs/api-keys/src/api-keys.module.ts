import { Inject, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { ApiKeysService } from './api-keys.service';

/**
 * One ApiKeysService per process over the shared pool (its cache must be shared too), listening
 * for revocations made by other processes while the module runs.
 */
@Module({
  providers: [
    {
      provide: ApiKeysService,
      inject: [PG_POOL, ACCORD_CONFIG],
      useFactory: (pool: Pool, config: AccordConfig) =>
        new ApiKeysService(pool, { databaseUrl: config.DATABASE_URL }),
    },
  ],
  exports: [ApiKeysService],
})
export class ApiKeysModule implements OnModuleInit, OnApplicationShutdown {
  constructor(@Inject(ApiKeysService) private readonly apiKeys: ApiKeysService) {}

  async onModuleInit(): Promise<void> {
    await this.apiKeys.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.apiKeys.stop();
  }
}
