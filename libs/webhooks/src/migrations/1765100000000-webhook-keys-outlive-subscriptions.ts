import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscription's idempotency keys stay when it is deleted (they went with it, cascading): a
 * creation retried after its subscription was deleted made it again, a subscription its admin
 * had removed sending webhooks once more. Now the retry finds the key and is refused (409
 * `webhook-subscription-deleted`). Keys are small and as few as the requests that wrote them.
 */
export class WebhookKeysOutliveSubscriptions1765100000000 implements MigrationInterface {
  name = 'WebhookKeysOutliveSubscriptions1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_idempotency_keys
        DROP CONSTRAINT webhook_idempotency_keys_subscription_id_fkey
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DELETE FROM webhook_idempotency_keys k
       WHERE NOT EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = k.subscription_id);
      ALTER TABLE webhook_idempotency_keys
        ADD CONSTRAINT webhook_idempotency_keys_subscription_id_fkey
        FOREIGN KEY (subscription_id) REFERENCES webhook_subscriptions (id) ON DELETE CASCADE
    `);
  }
}
