import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `Idempotency-Key` on creating a subscription (SPEC §4: writes accept it): a retried creation
 * answers with the subscription the first one made instead of making a second, which would
 * receive every message twice. The key (scoped to the API key that sent it) and a digest of the
 * request are kept on the subscription; the same key on another request is refused.
 */
export class WebhookSubscriptionIdempotency1764970001000 implements MigrationInterface {
  name = 'WebhookSubscriptionIdempotency1764970001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_subscriptions
        ADD COLUMN idempotency_key text, ADD COLUMN request_fingerprint text;
      CREATE UNIQUE INDEX webhook_subscriptions_idempotency_key
        ON webhook_subscriptions (idempotency_key) WHERE idempotency_key IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX webhook_subscriptions_idempotency_key;
      ALTER TABLE webhook_subscriptions DROP COLUMN idempotency_key, DROP COLUMN request_fingerprint;
    `);
  }
}
