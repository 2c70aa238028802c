import type { ApiKeySummary, CreatedApiKey } from '@app/api-keys';

/** `POST /api/v1/api-keys` answer: the only response that ever carries the secret `key`. */
export interface CreatedApiKeyDto {
  id: string;
  name: string;
  role: string;
  prefix: string;
  key: string;
  createdAt: string;
}

export interface ApiKeyDto {
  id: string;
  name: string;
  role: string;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export function toCreatedApiKeyDto(created: CreatedApiKey): CreatedApiKeyDto {
  const { id, name, role, prefix, key, createdAt } = created;
  return { id, name, role, prefix, key, createdAt: createdAt.toISOString() };
}

export function toApiKeyDto(summary: ApiKeySummary): ApiKeyDto {
  return {
    id: summary.id,
    name: summary.name,
    role: summary.role,
    prefix: summary.prefix,
    createdAt: summary.createdAt.toISOString(),
    lastUsedAt: summary.lastUsedAt?.toISOString() ?? null,
    revokedAt: summary.revokedAt?.toISOString() ?? null,
  };
}
