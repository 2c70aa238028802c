import type { Pool, PoolClient, QueryResult, QueryResultRow } from 'pg';
import type { ApiKeyRole, ApiKeySummary } from '../api-key';
import { API_KEY_REVOKED_CHANNEL } from './revocation-listener';

/** Anything that runs a query: the pool, or one client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

/** A row of `api_keys`, as the table stores it. Stays here: the service speaks in its own types. */
export interface ApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  key_hash: Buffer;
  /** SHA-256 of the calendar feed token. */
  feed_token_hash: Buffer;
  /** What the token is derived from with the key's secret; null for one issued before hashing. */
  feed_token_salt: Buffer | null;
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  version: number;
  idempotency_key_hash: Buffer | null;
  request_fingerprint: string | null;
  creation_replay: Buffer | null;
  creation_replay_until: Date | null;
}

export interface NewApiKeyRow {
  id: string;
  name: string;
  role: ApiKeyRole;
  prefix: string;
  keyHash: Buffer;
  feedTokenHash: Buffer;
  feedTokenSalt: Buffer;
  createdAt: Date;
  /** A creation sent with an `Idempotency-Key`. */
  idempotency?: {
    keyHash: Buffer;
    requestFingerprint: string;
    creationReplay: Buffer;
    creationReplayUntil: Date;
  };
}

const SUMMARY_COLUMNS = 'id, name, role, prefix, created_at, revoked_at, last_used_at';
const UNIQUE_VIOLATION = '23505';

export class ActiveNameTaken extends Error {}

/** The SQL behind ApiKeysService, over raw pg like the event store. */
export class ApiKeyRepository {
  constructor(private readonly pool: Pool) {}

  async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Throws `ActiveNameTaken` when an active key already has the name; false (nothing inserted)
   * when another creation took the idempotency key first (once that one has committed).
   */
  async insert(row: NewApiKeyRow, db: Queryable = this.pool): Promise<boolean> {
    try {
      const { rowCount } = await db.query(
        `INSERT INTO api_keys (id, name, role, prefix, key_hash, feed_token_hash, feed_token_salt,
                               created_at, idempotency_key_hash, request_fingerprint,
                               creation_replay, creation_replay_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (idempotency_key_hash) WHERE idempotency_key_hash IS NOT NULL DO NOTHING`,
        [
          row.id,
          row.name,
          row.role,
          row.prefix,
          row.keyHash,
          row.feedTokenHash,
          row.feedTokenSalt,
          row.createdAt,
          row.idempotency?.keyHash ?? null,
          row.idempotency?.requestFingerprint ?? null,
          row.idempotency?.creationReplay ?? null,
          row.idempotency?.creationReplayUntil ?? null,
        ],
      );
      return (rowCount ?? 0) > 0;
    } catch (error) {
      const { code, constraint } = error as { code?: string; constraint?: string };
      if (code === UNIQUE_VIOLATION && constraint === 'api_keys_active_name_idx')
        throw new ActiveNameTaken();
      throw error;
    }
  }

  async list(): Promise<ApiKeySummary[]> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM api_keys ORDER BY created_at, id`,
    );
    return rows.map(toApiKeySummary);
  }

  async findActiveByHash(keyHash: Buffer): Promise<ApiKeyRow | undefined> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
      [keyHash],
    );
    return rows[0];
  }

  /** A revoked key with this hash: a secret once revoked is never valid again. */
  async findRevokedByHash(
    keyHash: Buffer,
    db: Queryable = this.pool,
  ): Promise<ApiKeyRow | undefined> {
    const { rows } = await db.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE key_hash = $1 AND revoked_at IS NOT NULL LIMIT 1',
      [keyHash],
    );
    return rows[0];
  }

  async findActiveByName(name: string, db: Queryable = this.pool): Promise<ApiKeyRow | undefined> {
    const { rows } = await db.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE name = $1 AND revoked_at IS NULL',
      [name],
    );
    return rows[0];
  }

  async findActiveByFeedTokenHash(feedTokenHash: Buffer): Promise<ApiKeyRow | undefined> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE feed_token_hash = $1 AND revoked_at IS NULL',
      [feedTokenHash],
    );
    return rows[0];
  }

  /** Gives an active key a new feed token (the old one stops at once); false if none is active. */
  async replaceFeedToken(
    id: string,
    feedTokenHash: Buffer,
    feedTokenSalt: Buffer,
  ): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE api_keys SET feed_token_hash = $2, feed_token_salt = $3
       WHERE id = $1 AND revoked_at IS NULL`,
      [id, feedTokenHash, feedTokenSalt],
    );
    return (rowCount ?? 0) > 0;
  }

  async findActiveById(id: string): Promise<ApiKeyRow | undefined> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
      [id],
    );
    return rows[0];
  }

  /** A key, active or revoked; `lock` holds it until the transaction of `db` ends. */
  async findById(
    id: string,
    db: Queryable = this.pool,
    lock = false,
  ): Promise<ApiKeyRow | undefined> {
    const { rows } = await db.query<ApiKeyRow>(
      `SELECT * FROM api_keys WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  /** The key a creation with this (hashed, caller-scoped) idempotency key made. */
  async findByIdempotencyKey(keyHash: Buffer): Promise<ApiKeyRow | undefined> {
    const { rows } = await this.pool.query<ApiKeyRow>(
      'SELECT * FROM api_keys WHERE idempotency_key_hash = $1',
      [keyHash],
    );
    return rows[0];
  }

  /** Forgets every sealed secret whose retry window has passed by `now`. */
  async clearExpiredCreationReplays(now: Date): Promise<void> {
    await this.pool.query(
      `UPDATE api_keys SET creation_replay = NULL, creation_replay_until = NULL
       WHERE creation_replay IS NOT NULL AND creation_replay_until <= $1`,
      [now],
    );
  }

  /**
   * Revokes an active key and tells every listening process (the notification goes out when the
   * revocation commits): its version moves on, and a sealed secret kept for retries goes. The
   * key's new version; undefined when there was none with that id (unknown or revoked).
   */
  async revoke(id: string, at: Date, db: Queryable = this.pool): Promise<number | undefined> {
    const { rows } = await db.query<{ version: number }>(
      `WITH revoked AS (
         UPDATE api_keys
         SET revoked_at = $2, version = version + 1,
             creation_replay = NULL, creation_replay_until = NULL
         WHERE id = $1 AND revoked_at IS NULL RETURNING id, version
       )
       SELECT version, pg_notify('${API_KEY_REVOKED_CHANNEL}', id::text) FROM revoked`,
      [id, at],
    );
    return rows[0]?.version;
  }

  /** Records a use unless one was recorded after `notBefore` (by this or another process). */
  async touch(id: string, at: Date, notBefore: Date): Promise<void> {
    await this.pool.query(
      `UPDATE api_keys SET last_used_at = $2
       WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
      [id, at, notBefore],
    );
  }
}

export function toApiKeySummary(row: ApiKeyRow): ApiKeySummary {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    prefix: row.prefix,
    createdAt: row.created_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}
