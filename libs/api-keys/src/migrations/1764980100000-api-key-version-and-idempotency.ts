import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Writes to API keys take `If-Match` and `Idempotency-Key` (SPEC §4).
 *
 * `version` is a key's `ETag`: 1 when created, 2 once revoked (the only change a key knows).
 *
 * A creation sent with an `Idempotency-Key` keeps the SHA-256 of that key (scoped to the caller's
 * key id), a digest of the request, and, for a bounded time, the new secret sealed under a key
 * derived from the `Idempotency-Key` and the caller's own secret (`creation_replay`, see
 * creation-replay.ts): a retry presents both and gets the first answer back; the table alone
 * cannot open it. Cleared when `creation_replay_until` passes or the key is revoked. The
 * idempotency key stays taken for good, so that a late retry never makes a second key.
 */
export class ApiKeyVersionAndIdempotency1764980100000 implements MigrationInterface {
  name = 'ApiKeyVersionAndIdempotency1764980100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE api_keys
        ADD COLUMN version integer NOT NULL DEFAULT 1,
        ADD COLUMN idempotency_key_hash bytea CHECK (length(idempotency_key_hash) = 32),
        ADD COLUMN request_fingerprint text,
        ADD COLUMN creation_replay bytea,
        ADD COLUMN creation_replay_until timestamptz,
        ADD CONSTRAINT api_keys_creation_replay_bounded
          CHECK (creation_replay IS NULL OR creation_replay_until IS NOT NULL);
      UPDATE api_keys SET version = 2 WHERE revoked_at IS NOT NULL;
      CREATE UNIQUE INDEX api_keys_idempotency_key_idx
        ON api_keys (idempotency_key_hash) WHERE idempotency_key_hash IS NOT NULL;
      CREATE INDEX api_keys_creation_replay_until_idx
        ON api_keys (creation_replay_until) WHERE creation_replay IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX api_keys_creation_replay_until_idx;
      DROP INDEX api_keys_idempotency_key_idx;
      ALTER TABLE api_keys
        DROP CONSTRAINT api_keys_creation_replay_bounded,
        DROP COLUMN creation_replay_until,
        DROP COLUMN creation_replay,
        DROP COLUMN request_fingerprint,
        DROP COLUMN idempotency_key_hash,
        DROP COLUMN version;
    `);
  }
}
