import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Calendar feed tokens are kept as their SHA-256 (`feed_token_hash`), as key secrets are, instead
 * of as issued: a copy of the table no longer opens every key's feed. The tokens issued before
 * are hashed in place, so that their feed URLs keep working; they cannot be shown again
 * (`feed_token_salt` is null) until the key rotates its token. A token issued from now on is
 * derived from the key's secret and `feed_token_salt` (see `deriveFeedToken`), so the key can
 * ask for it again.
 *
 * Down puts a clear `feed_token` back, but the tokens themselves are gone: every key gets a new
 * random one, and the feed URLs handed out before stop working.
 */
export class FeedTokensHashed1765300000000 implements MigrationInterface {
  name = 'FeedTokensHashed1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE api_keys
        ADD COLUMN feed_token_hash bytea CHECK (length(feed_token_hash) = 32),
        ADD COLUMN feed_token_salt bytea CHECK (length(feed_token_salt) = 16);
      UPDATE api_keys SET feed_token_hash = sha256(convert_to(feed_token, 'UTF8'));
      ALTER TABLE api_keys
        ALTER COLUMN feed_token_hash SET NOT NULL,
        DROP COLUMN feed_token;
      CREATE UNIQUE INDEX api_keys_feed_token_hash_idx ON api_keys (feed_token_hash);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE api_keys ADD COLUMN feed_token text;
      UPDATE api_keys
        SET feed_token = translate(
          encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'base64'), '+/=', '-_');
      ALTER TABLE api_keys
        ALTER COLUMN feed_token SET NOT NULL,
        ADD CONSTRAINT api_keys_feed_token_key UNIQUE (feed_token),
        DROP COLUMN feed_token_salt,
        DROP COLUMN feed_token_hash;
    `);
  }
}
