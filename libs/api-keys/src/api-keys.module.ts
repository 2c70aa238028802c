import { Module } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { ApiKeysService } from './api-keys.service';

/** One ApiKeysService per process over the shared pool (its cache must be shared too). */
@Module({
  providers: [
    {
      provide: ApiKeysService,
      inject: [PG_POOL],
      useFactory: (pool: Pool) => new ApiKeysService(pool),
    },
  ],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
