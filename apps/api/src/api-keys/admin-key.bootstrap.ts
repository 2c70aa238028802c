import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeysService } from '@app/api-keys';
import { ACCORD_CONFIG, weakAdminApiKey, type AccordConfig } from '@app/config';

/**
 * `ADMIN_API_KEY` becomes the active `bootstrap-admin` key when the api starts. Unset, nothing
 * changes: a bootstrap key recorded earlier stays until it is revoked through the API. A weak
 * value (the README's placeholder, say) is refused by the configuration where NODE_ENV is
 * `production`; elsewhere it is taken, with a warning.
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
    const weakness = weakAdminApiKey(this.config.ADMIN_API_KEY);
    if (weakness) {
      this.logger.warn(
        `ADMIN_API_KEY ${weakness}: whoever knows or guesses it is an admin. Fine on your own ` +
          'machine; anywhere else set a secret of your own (e.g. `openssl rand -base64 32`). ' +
          'With NODE_ENV=production the api refuses to start with it.',
      );
    }
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
