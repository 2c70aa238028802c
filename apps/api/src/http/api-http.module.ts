import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { ApiKeysModule } from '@app/api-keys';
import { ApiKeyGuard } from './api-key.guard';
import { ProblemDetailsFilter } from './problem-details.filter';

/** The HTTP conventions of every route: problem+json errors and API-key authentication. */
@Module({
  imports: [ApiKeysModule],
  providers: [
    { provide: APP_FILTER, useClass: ProblemDetailsFilter },
    { provide: APP_GUARD, useClass: ApiKeyGuard },
  ],
})
export class ApiHttpModule {}
