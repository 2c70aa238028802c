import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `Idempotency-Key` on the writes to an existing subscription (SPEC §4): change, rotate the
 * secret, test, retry a delivery, replay. A retried rotation must not rotate twice (the client
 * would never see the secret that signs, nor the one kept for the grace period), and a retried
 * test, retry or replay must not send the receiver its messages again.
 *
 * One row per key (already scoped to the API key that sent it), claimed in the write's
 * transaction so that two racing retries cannot both write. It keeps what the first request
 * answered, never a secret: a rotation keeps a digest of the secret it made, to tell whether
 * that secret is still the current one when a retry asks for it. Rows go with their
 * subscription; they are few (one per keyed write by an admin).
 */
export class WebhookIdempotencyKeys1764970002000 implements MigrationInterface {
  name = 'WebhookIdempotencyKeys1764970002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_idempotency_keys (
        idempotency_key text PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
        request_fingerprint text NOT NULL,
        answer jsonb,
        secret_digest text,
        created_at timestamptz NOT NULL
      );
      CREATE INDEX webhook_idempotency_keys_subscription_idx
        ON webhook_idempotency_keys (subscription_id);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE webhook_idempotency_keys');
  }
}
