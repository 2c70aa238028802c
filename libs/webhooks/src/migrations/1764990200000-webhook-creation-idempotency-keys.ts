import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscription's creation claims its `Idempotency-Key` in `webhook_idempotency_keys`, as every
 * later write to a subscription does, instead of keeping it on the subscription it made. With
 * the keys in two places, each side could only read the other's, so a creation and another
 * write racing with the same key could both succeed; one primary key makes the claim atomic.
 *
 * Keys of creations made before keep answering their retries: each moves over with the digest
 * of its subscription's secret, unless a rotation has already replaced that secret (no digest:
 * a retry is told the secret was superseded, as it was before). A key found in both places (the
 * race above) stays with the write that claimed it. Like the other keys, a creation's goes with
 * its subscription, so a retry after a delete creates it again.
 */
export class WebhookCreationIdempotencyKeys1764990200000 implements MigrationInterface {
  name = 'WebhookCreationIdempotencyKeys1764990200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // The digest as the service computes it: sha256, base64url without padding.
    await queryRunner.query(`
      ALTER TABLE webhook_idempotency_keys ADD COLUMN creation boolean NOT NULL DEFAULT false;
      INSERT INTO webhook_idempotency_keys
        (idempotency_key, subscription_id, request_fingerprint, creation, secret_digest, created_at)
      SELECT idempotency_key, id, coalesce(request_fingerprint, ''), true,
             CASE WHEN previous_secret_expires_at IS NULL THEN
               rtrim(translate(encode(sha256(convert_to(secret, 'UTF8')), 'base64'), '+/', '-_'), '=')
             END,
             created_at
        FROM webhook_subscriptions WHERE idempotency_key IS NOT NULL
      ON CONFLICT (idempotency_key) DO NOTHING;
      DROP INDEX webhook_subscriptions_idempotency_key;
      ALTER TABLE webhook_subscriptions DROP COLUMN idempotency_key, DROP COLUMN request_fingerprint;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_subscriptions
        ADD COLUMN idempotency_key text, ADD COLUMN request_fingerprint text;
      UPDATE webhook_subscriptions s
         SET idempotency_key = k.idempotency_key, request_fingerprint = k.request_fingerprint
        FROM webhook_idempotency_keys k
       WHERE k.creation AND k.subscription_id = s.id;
      CREATE UNIQUE INDEX webhook_subscriptions_idempotency_key
        ON webhook_subscriptions (idempotency_key) WHERE idempotency_key IS NOT NULL;
      DELETE FROM webhook_idempotency_keys WHERE creation;
      ALTER TABLE webhook_idempotency_keys DROP COLUMN creation;
    `);
  }
}
