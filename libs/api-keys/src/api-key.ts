import { z } from 'zod';

/** Roles from least to most powerful; each includes the ones before it. */
export const API_KEY_ROLES = ['viewer', 'editor', 'admin'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

/** The name `ADMIN_API_KEY` is recorded under; reserved, so that no one else can take it. */
export const BOOTSTRAP_ADMIN_NAME = 'bootstrap-admin';

/**
 * What lists show as the bootstrap key's prefix: not characters of `ADMIN_API_KEY`. A generated
 * key's prefix shows 6 of its 43 random characters (36 of 256 bits, nothing worth guessing
 * from); `ADMIN_API_KEY` is chosen by hand, with no such entropy, so any of its characters would
 * be a real hint. Its name tells it apart already.
 */
export const BOOTSTRAP_ADMIN_PREFIX = '(ADMIN_API_KEY)';

/** Who is calling: what the HTTP layer attaches to a request and records as the actor. */
export interface Principal {
  keyId: string;
  name: string;
  role: ApiKeyRole;
}

/** Whether a key with role `held` may do what needs role `required` (admin ⊃ editor ⊃ viewer). */
export function roleGrants(held: ApiKeyRole, required: ApiKeyRole): boolean {
  return API_KEY_ROLES.indexOf(held) >= API_KEY_ROLES.indexOf(required);
}

/** A key as lists show it: never the secret, its hash or the feed token. */
export interface ApiKeySummary {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** One key with its version, the `ETag` that `If-Match` compares: 1 created, 2 revoked. */
export interface VersionedApiKey extends ApiKeySummary {
  version: number;
}

/**
 * The answer to a creation: the only time the secret `key` is ever shown (and again to a retry
 * with the same `Idempotency-Key`, for a limited time).
 */
export interface CreatedApiKey {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  key: string;
  createdAt: Date;
  version: number;
}

/**
 * What makes a creation safe to retry: the `Idempotency-Key` scoped to the caller's key id, a
 * digest of the request, and the caller's own secret, without which the first answer's secret
 * cannot be read back (see creation-replay.ts).
 */
export interface CreationIdempotency {
  /** `idempotency:<caller key id>:<Idempotency-Key>`. */
  commandId: string;
  requestFingerprint: string;
  callerSecret: string;
}

export const apiKeyRoleSchema = z.enum(API_KEY_ROLES);

export const apiKeyNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(
    /^[\p{L}\p{N}][\p{L}\p{N} ._@:-]*$/u,
    'must start with a letter or digit and contain only letters, digits, spaces and . _ @ : -',
  );

/** What creating a key takes; the HTTP body and the CLI arguments are checked against it. */
export const createApiKeyInputSchema = z.strictObject({
  name: apiKeyNameSchema,
  role: apiKeyRoleSchema,
});
export type CreateApiKeyInput = z.output<typeof createApiKeyInputSchema>;
