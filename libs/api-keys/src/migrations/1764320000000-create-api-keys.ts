import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys. Only the SHA-256 of a key is stored. Names and hashes are unique among active keys
 * only, so that a revoked key's name (or a rotated-back `ADMIN_API_KEY`) can be used again while
 * the revoked row stays for the record.
 */
export class CreateApiKeys1764320000000 implements MigrationInterface {
  name = 'CreateApiKeys1764320000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        role text NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        prefix text NOT NULL,
        key_hash bytea NOT NULL CHECK (length(key_hash) = 32),
        feed_token text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz,
        last_used_at timestamptz
      );
      CREATE UNIQUE INDEX api_keys_active_name_idx ON api_keys (name) WHERE revoked_at IS NULL;
      CREATE UNIQUE INDEX api_keys_active_hash_idx ON api_keys (key_hash) WHERE revoked_at IS NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE api_keys');
  }
}
