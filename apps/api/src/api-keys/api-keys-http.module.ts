import { Module } from '@nestjs/common';
import { ApiKeysModule } from '@app/api-keys';
import { AdminKeyBootstrap } from './admin-key.bootstrap';
import { ApiKeysController } from './api-keys.controller';

/** `/api/v1/api-keys` and the `ADMIN_API_KEY` bootstrap at start-up. */
@Module({
  imports: [ApiKeysModule],
  controllers: [ApiKeysController],
  providers: [AdminKeyBootstrap],
})
export class ApiKeysHttpModule {}
