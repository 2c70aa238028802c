import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeysService } from '@app/api-keys';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';

/**
 * `ADMIN_API_KEY` becomes the active `bootstrap-admin` key when the api starts. Unset, nothing
 * changes: a bootstrap key recorded earlier stays until it is revoked through the API.
 */
@Injectable()
export class AdminKeyBootstrap implements OnApplicationBootstrap {
  private readonly logger = new Logger('ApiKeys');

  constructor(
    @Inject(ACCORD_CONFIG) private readonly config: AccordConfig,
    @Inject(ApiKeysService) private readonly apiKeys: ApiKeysService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.ADMIN_API_KEY) return;
    const result = await this.apiKeys.bootstrapAdmin(this.config.ADMIN_API_KEY);
    if (result.refusedRevoked) {
      this.logger.warn(
        `ADMIN_API_KEY is the secret of key ${result.id}, which was revoked: it is not restored. ` +
          'Set a new ADMIN_API_KEY to bootstrap an admin key.',
      );
    }
    if (result.created) {
      this.logger.log(
        result.revokedId
          ? `ADMIN_API_KEY changed: revoked bootstrap key ${result.revokedId}, recorded ${result.id}`
          : `ADMIN_API_KEY recorded as bootstrap key ${result.id}`,
      );
    }
  }
}
