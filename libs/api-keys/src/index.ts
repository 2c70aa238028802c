import { CreateApiKeys1764320000000 } from './migrations/1764320000000-create-api-keys';
import { HideBootstrapKeyPrefix1764920000000 } from './migrations/1764920000000-hide-bootstrap-key-prefix';
import { ApiKeyVersionAndIdempotency1764980100000 } from './migrations/1764980100000-api-key-version-and-idempotency';
import { FeedTokensHashed1765300000000 } from './migrations/1765300000000-feed-tokens-hashed';

export {
  API_KEY_ROLES,
  BOOTSTRAP_ADMIN_NAME,
  BOOTSTRAP_ADMIN_PREFIX,
  apiKeyNameSchema,
  apiKeyRoleSchema,
  createApiKeyInputSchema,
  roleGrants,
  type ApiKeyRole,
  type ApiKeySummary,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type CreationIdempotency,
  type Principal,
  type VersionedApiKey,
} from './api-key';
export {
  ApiKeyIdempotencyKeyReusedError,
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  ApiKeySecretUnavailableError,
  ApiKeyVersionMismatchError,
  type ApiKeySecretUnavailableReason,
} from './api-keys.errors';
export {
  ApiKeysService,
  type ApiKeysServiceOptions,
  type BootstrapAdminResult,
  type FeedTokenAnswer,
} from './api-keys.service';
export { ApiKeysModule } from './api-keys.module';

export const apiKeysMigrations = [
  CreateApiKeys1764320000000,
  HideBootstrapKeyPrefix1764920000000,
  ApiKeyVersionAndIdempotency1764980100000,
  FeedTokensHashed1765300000000,
];
