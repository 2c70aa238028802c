import { createHash, randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import {
  BOOTSTRAP_ADMIN_NAME,
  BOOTSTRAP_ADMIN_PREFIX,
  type ApiKeySummary,
  type CreateApiKeyInput,
  type CreatedApiKey,
  type CreationIdempotency,
  type Principal,
  type VersionedApiKey,
} from './api-key';
import {
  deriveFeedToken,
  displayPrefix,
  generateApiKeySecret,
  hashApiKeySecret,
  hashesEqual,
  hashFeedToken,
  newFeedTokenSalt,
} from './api-key-secret';
import {
  ApiKeyIdempotencyKeyReusedError,
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  ApiKeySecretUnavailableError,
  ApiKeyVersionMismatchError,
} from './api-keys.errors';
import { openCreatedSecret, sealCreatedSecret } from './creation-replay';
import {
  ActiveNameTaken,
  ApiKeyRepository,
  toApiKeySummary,
  type ApiKeyRow,
} from './infrastructure/api-key.repository';
import { RevocationListener } from './infrastructure/revocation-listener';

export interface ApiKeysServiceOptions {
  /** Injected for tests; the wall clock otherwise. */
  clock?: () => Date;
  /** How long a successful lookup is trusted without asking the database again. */
  cacheTtlMs?: number;
  /** `last_used_at` is written at most once per this interval per key. */
  touchIntervalMs?: number;
  /**
   * Where to LISTEN for revocations made by other processes, so that they take effect here at
   * once (`start()`); without it, another process's revocation is seen once `cacheTtlMs` runs
   * out.
   */
  databaseUrl?: string;
  /**
   * How long a retried creation (same `Idempotency-Key`) can still be answered with the new
   * key's secret; after that the sealed copy is dropped and a retry is told the secret is gone.
   */
  creationReplayMs?: number;
}

/**
 * A key's calendar feed token, for the key itself: `shown`; `not-shown` when it was issued
 * before tokens were stored hashed (its URL still works; a rotation issues one that can be
 * shown); `inactive` when the key is revoked (or the secret is not the key's).
 */
export type FeedTokenAnswer =
  { status: 'shown'; token: string } | { status: 'not-shown' } | { status: 'inactive' };

/** What `bootstrapAdmin` did: kept the recorded key, or recorded a new one (revoking any old). */
export interface BootstrapAdminResult {
  id: string;
  created: boolean;
  revokedId: string | null;
  /** The secret is that of a key revoked since: it is not restored (`id` is that key's). */
  refusedRevoked?: true;
}

const MAX_CACHED = 1000;
const MAX_SECRET_LENGTH = 512;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Serializes bootstrapAdmin between api replicas starting together.
const BOOTSTRAP_LOCK_KEY = 0x0acc0e;

/**
 * Creates, lists, revokes and authenticates API keys. One instance per process: its cache is
 * what makes `authenticate` cheap. A revocation clears it at once in this process and, through
 * PostgreSQL's NOTIFY, in every process that listens (`databaseUrl`, `start()`); while one is
 * not listening (its connection lost) it asks the database every time. `cacheTtlMs` bounds what
 * a missed notification could cost.
 */
export class ApiKeysService {
  private readonly logger = new Logger('ApiKeys');
  private readonly repository: ApiKeyRepository;
  private readonly clock: () => Date;
  private readonly cacheTtlMs: number;
  private readonly touchIntervalMs: number;
  private readonly creationReplayMs: number;
  /** Principals by hex SHA-256 of the secret, with when to ask the database again. */
  private readonly cache = new Map<string, { principal: Principal; expiresAt: number }>();
  /** When this process last wrote `last_used_at` per key id. */
  private readonly touchedAt = new Map<string, number>();
  private readonly listener: RevocationListener | undefined;
  private sweep: NodeJS.Timeout | undefined;
  /** Between start() and stop(). */
  private started = false;
  /** Whether revocations reach this process now (always, without a listener: TTL only). */
  private hearsRevocations: boolean;
  /** Moves on every revocation heard: a lookup that began before one is not cached. */
  private revocations = 0;

  constructor(pool: Pool, options: ApiKeysServiceOptions = {}) {
    this.repository = new ApiKeyRepository(pool);
    this.clock = options.clock ?? (() => new Date());
    this.cacheTtlMs = options.cacheTtlMs ?? 10_000;
    this.touchIntervalMs = options.touchIntervalMs ?? 60_000;
    this.creationReplayMs = options.creationReplayMs ?? 24 * 60 * 60 * 1000;
    this.hearsRevocations = options.databaseUrl === undefined;
    this.listener =
      options.databaseUrl === undefined
        ? undefined
        : new RevocationListener(options.databaseUrl, {
            revoked: (keyId) => {
              this.revocations += 1;
              this.forget(keyId);
            },
            listening: () => {
              // Whatever was revoked while no one listened is not in the cache any more.
              this.revocations += 1;
              this.cache.clear();
              this.hearsRevocations = true;
            },
            deaf: () => {
              this.revocations += 1;
              this.cache.clear();
              this.hearsRevocations = false;
            },
          });
  }

  /**
   * Starts listening for revocations made elsewhere (with `databaseUrl`), and dropping the
   * sealed secrets of creations whose retry window has passed, so that none outlives it by
   * more than an hour.
   */
  async start(): Promise<void> {
    // Started already: a second listener and sweep would outlive stop(), which ends only one.
    if (this.started) return;
    this.started = true;
    await this.listener?.start();
    await this.clearExpiredCreationReplays();
    // One sweep at most, however a stop and another start overlapped the awaits above.
    clearInterval(this.sweep);
    if (!this.started) return;
    this.sweep = setInterval(
      () => void this.clearExpiredCreationReplays(),
      Math.min(this.creationReplayMs, 60 * 60 * 1000),
    );
    this.sweep.unref();
  }

  async stop(): Promise<void> {
    this.started = false;
    clearInterval(this.sweep);
    this.sweep = undefined;
    await this.listener?.stop();
  }

  private async clearExpiredCreationReplays(): Promise<void> {
    try {
      await this.repository.clearExpiredCreationReplays(this.clock());
    } catch (error) {
      // A retry past the window is refused whatever the table still holds; try again later.
      this.logger.warn(`Could not clear expired API key creation replays: ${String(error)}`);
    }
  }

  /**
   * Records a new key and returns its secret, the only time it is shown. With `idempotency`, a
   * retry (same key, same request, same caller) answers with the key the first one made, secret
   * included, for `creationReplayMs`; the same idempotency key with another request throws
   * ApiKeyIdempotencyKeyReusedError, and a retry too late for the secret
   * ApiKeySecretUnavailableError.
   */
  async create(
    input: CreateApiKeyInput,
    idempotency?: CreationIdempotency,
  ): Promise<CreatedApiKey> {
    // In any case: `Bootstrap-Admin` beside the bootstrap key would read as it in a list.
    if (input.name.toLowerCase() === BOOTSTRAP_ADMIN_NAME)
      throw new ApiKeyNameTakenError(input.name, 'reserved');
    const scope = idempotency && {
      ...idempotency,
      keyHash: hashIdempotencyKey(idempotency.commandId),
    };
    const earlier = scope && (await this.repository.findByIdempotencyKey(scope.keyHash));
    if (scope && earlier) return this.replay(earlier, scope);
    const key = generateApiKeySecret();
    const now = this.clock();
    const id = randomUUID();
    const row = {
      id,
      name: input.name,
      role: input.role,
      prefix: displayPrefix(key),
      keyHash: hashApiKeySecret(key),
      ...newFeedToken(key, id),
      createdAt: now,
    };
    let inserted: boolean;
    try {
      inserted = await this.repository.insert({
        ...row,
        idempotency: scope && {
          keyHash: scope.keyHash,
          requestFingerprint: scope.requestFingerprint,
          creationReplay: sealCreatedSecret(key, row.id, scope),
          creationReplayUntil: new Date(now.getTime() + this.creationReplayMs),
        },
      });
    } catch (error) {
      if (!(error instanceof ActiveNameTaken)) throw error;
      // The same request racing this one may have committed first: it holds the name too.
      const first = scope && (await this.repository.findByIdempotencyKey(scope.keyHash));
      if (scope && first) return this.replay(first, scope);
      throw new ApiKeyNameTakenError(input.name);
    }
    if (scope && !inserted) {
      // Another request with this idempotency key inserted first; its insert has committed.
      const first = await this.repository.findByIdempotencyKey(scope.keyHash);
      if (!first) throw new Error('An idempotent API key creation conflicted with no key');
      return this.replay(first, scope);
    }
    const { name, role, prefix, createdAt } = row;
    return { id, name, role, prefix, key, createdAt, version: 1 };
  }

  /** The answer the creation that took this idempotency key was given. */
  private replay(first: ApiKeyRow, idempotency: CreationIdempotency): CreatedApiKey {
    if (first.request_fingerprint !== idempotency.requestFingerprint)
      throw new ApiKeyIdempotencyKeyReusedError();
    if (first.revoked_at) throw new ApiKeySecretUnavailableError(first.id, 'revoked');
    const until = first.creation_replay_until;
    // Past its window, the copy a sweep has not dropped yet is not opened either.
    if (!first.creation_replay || !until || until <= this.clock())
      throw new ApiKeySecretUnavailableError(first.id, 'expired');
    const key = openCreatedSecret(first.creation_replay, first.id, idempotency);
    // The tag and the hash both check it: a copy that does not open is as good as none, but its
    // window has not passed, so that is not the reason given.
    if (!key || !hashesEqual(hashApiKeySecret(key), first.key_hash))
      throw new ApiKeySecretUnavailableError(first.id, 'unreadable');
    return {
      id: first.id,
      name: first.name,
      role: first.role,
      prefix: first.prefix,
      key,
      createdAt: first.created_at,
      version: first.version,
    };
  }

  /** Every key, active and revoked, oldest first; never a secret, hash or feed token. */
  list(): Promise<ApiKeySummary[]> {
    return this.repository.list();
  }

  /** One key, active or revoked, with its version. Throws ApiKeyNotFoundError. */
  async get(id: string): Promise<VersionedApiKey> {
    const row = UUID.test(id) ? await this.repository.findById(id) : undefined;
    if (!row) throw new ApiKeyNotFoundError(id);
    return { ...toApiKeySummary(row), version: row.version };
  }

  /**
   * Revokes a key (again: a no-op) and returns its version after. `ifMatch`: the versions the
   * caller's view may be at (`If-Match`); ApiKeyVersionMismatchError when the key is at none of
   * them, an empty list included. Throws ApiKeyNotFoundError for an unknown id.
   */
  async revoke(id: string, ifMatch?: readonly number[]): Promise<{ version: number }> {
    if (!UUID.test(id)) throw new ApiKeyNotFoundError(id);
    const version = await this.repository.transaction(async (client) => {
      const current = await this.repository.findById(id, client, true);
      if (!current) throw new ApiKeyNotFoundError(id);
      if (ifMatch !== undefined && !ifMatch.includes(current.version))
        throw new ApiKeyVersionMismatchError(id, current.version);
      if (current.revoked_at) return current.version;
      return (await this.repository.revoke(id, this.clock(), client)) ?? current.version;
    });
    this.forget(id);
    return { version };
  }

  /** The principal of an active key, or null for an unknown or revoked one. */
  async authenticate(secret: string): Promise<Principal | null> {
    if (!secret || secret.length > MAX_SECRET_LENGTH) return null;
    const hash = hashApiKeySecret(secret);
    const cacheKey = hash.toString('hex');
    const now = this.clock().getTime();
    let principal = this.cached(cacheKey, now);
    if (!principal) {
      const revocationsBefore = this.revocations;
      const row = await this.repository.findActiveByHash(hash);
      // The index found the row by hash already; the constant-time comparison is the rule for
      // comparing credentials, whatever the lookup did.
      if (!row || !hashesEqual(row.key_hash, hash)) return null;
      principal = toPrincipal(row);
      // A revocation heard during the lookup may be of this key, read before it committed.
      if (this.revocations === revocationsBefore) this.remember(cacheKey, principal, now);
    }
    await this.touch(principal.keyId, now);
    return principal;
  }

  /** The principal behind a calendar feed token (active keys only). */
  async authenticateFeedToken(feedToken: string): Promise<Principal | null> {
    if (!feedToken || feedToken.length > MAX_SECRET_LENGTH) return null;
    const hash = hashFeedToken(feedToken);
    const row = await this.repository.findActiveByFeedTokenHash(hash);
    return row && hashesEqual(row.feed_token_hash, hash) ? toPrincipal(row) : null;
  }

  /**
   * The calendar feed token of the active key `keyId`, for the caller holding its `secret`: the
   * table keeps only the token's hash, so it is derived again from the secret.
   */
  async feedTokenOf(keyId: string, secret: string): Promise<FeedTokenAnswer> {
    const row = UUID.test(keyId) ? await this.repository.findActiveById(keyId) : undefined;
    if (!row || !hashesEqual(row.key_hash, hashApiKeySecret(secret))) return { status: 'inactive' };
    if (!row.feed_token_salt) return { status: 'not-shown' };
    const token = deriveFeedToken(secret, row.id, row.feed_token_salt);
    // A rotation racing this read may have replaced the salt: show only the token in force.
    if (!hashesEqual(hashFeedToken(token), row.feed_token_hash)) return { status: 'not-shown' };
    return { status: 'shown', token };
  }

  /**
   * Gives the active key `keyId` (the caller holds its `secret`) a new calendar feed token and
   * returns it; the old one is refused from now on, in every process (feed tokens are not
   * cached). Null when the key is not active.
   */
  async rotateFeedToken(keyId: string, secret: string): Promise<string | null> {
    const row = UUID.test(keyId) ? await this.repository.findActiveById(keyId) : undefined;
    if (!row || !hashesEqual(row.key_hash, hashApiKeySecret(secret))) return null;
    const salt = newFeedTokenSalt();
    const token = deriveFeedToken(secret, row.id, salt);
    const replaced = await this.repository.replaceFeedToken(row.id, hashFeedToken(token), salt);
    return replaced ? token : null;
  }

  /**
   * Makes `secret` (from `ADMIN_API_KEY`) the active `bootstrap-admin` key. Idempotent: the
   * same secret keeps the recorded key; a different one revokes it and records the new one.
   */
  async bootstrapAdmin(secret: string): Promise<BootstrapAdminResult> {
    const hash = hashApiKeySecret(secret);
    const result = await this.repository.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [BOOTSTRAP_LOCK_KEY]);
      const current = await this.repository.findActiveByName(BOOTSTRAP_ADMIN_NAME, client);
      if (current && current.role === 'admin' && hashesEqual(current.key_hash, hash))
        return { id: current.id, created: false, revokedId: null };
      // Revoked by an admin (leaked, say): a restart with the same ADMIN_API_KEY must not bring
      // it back. The key in force, if any, stays.
      const revoked = await this.repository.findRevokedByHash(hash, client);
      if (revoked)
        return { id: revoked.id, created: false, revokedId: null, refusedRevoked: true as const };
      const now = this.clock();
      if (current) await this.repository.revoke(current.id, now, client);
      const id = randomUUID();
      await this.repository.insert(
        {
          id,
          name: BOOTSTRAP_ADMIN_NAME,
          role: 'admin',
          prefix: BOOTSTRAP_ADMIN_PREFIX,
          keyHash: hash,
          ...newFeedToken(secret, id),
          createdAt: now,
        },
        client,
      );
      return { id, created: true, revokedId: current?.id ?? null };
    });
    if (result.revokedId) this.forget(result.revokedId);
    return result;
  }

  private cached(cacheKey: string, now: number): Principal | undefined {
    if (!this.hearsRevocations) return undefined;
    const entry = this.cache.get(cacheKey);
    if (entry && entry.expiresAt > now) return entry.principal;
    if (entry) this.cache.delete(cacheKey);
    return undefined;
  }

  private remember(cacheKey: string, principal: Principal, now: number): void {
    if (this.cacheTtlMs <= 0 || !this.hearsRevocations) return;
    // Maps iterate in insertion order: the first key is the oldest entry.
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(cacheKey, { principal, expiresAt: now + this.cacheTtlMs });
  }

  private forget(keyId: string): void {
    for (const [cacheKey, entry] of this.cache)
      if (entry.principal.keyId === keyId) this.cache.delete(cacheKey);
    this.touchedAt.delete(keyId);
  }

  /** Writes `last_used_at` at most once per interval per key, instead of once per request. */
  private async touch(keyId: string, now: number): Promise<void> {
    const last = this.touchedAt.get(keyId);
    if (last !== undefined && now - last < this.touchIntervalMs) return;
    this.touchedAt.set(keyId, now);
    try {
      await this.repository.touch(keyId, new Date(now), new Date(now - this.touchIntervalMs));
    } catch (error) {
      // A missed "last used" stamp is not worth refusing an authenticated request for.
      this.logger.warn(`Could not record the use of API key ${keyId}: ${String(error)}`);
    }
  }
}

/** The idempotency key as stored: its value is part of what opens the sealed secret. */
function hashIdempotencyKey(commandId: string): Buffer {
  return createHash('sha256').update(commandId, 'utf8').digest();
}

/** The feed token columns of a new key: the token itself is derived again when asked for. */
function newFeedToken(
  secret: string,
  keyId: string,
): { feedTokenHash: Buffer; feedTokenSalt: Buffer } {
  const feedTokenSalt = newFeedTokenSalt();
  return {
    feedTokenHash: hashFeedToken(deriveFeedToken(secret, keyId, feedTokenSalt)),
    feedTokenSalt,
  };
}

function toPrincipal(row: ApiKeyRow): Principal {
  return { keyId: row.id, name: row.name, role: row.role };
}
