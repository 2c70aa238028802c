import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each message's payload is stored once, in `webhook_messages`, instead of a copy in every
 * delivery: a message fanned out to 50 subscriptions wrote 50 rows of about 1 kB, and every
 * outcome rewrote one of them. Deliveries become small rows that name their message by key.
 *
 * - `webhook_messages`: one row per message key (an alert, an event, a ping). The first dispatch
 *   of a key stores it; a later one (a replayed projection, a subscription added since) reuses
 *   it, so every delivery of a message sends the same body. Where the old rows of one key held
 *   different payloads (a body timestamp taken at a second dispatch), the earliest is kept.
 * - No foreign key from the deliveries to their message: the dispatcher writes both in one
 *   statement and nothing deletes messages. None to their subscription either any more: its
 *   check locked the subscription once per delivery row written (a fifth of the cost of a
 *   fan-out). The dispatcher locks each subscription it writes to once (`FOR KEY SHARE`), and
 *   deleting a subscription deletes its deliveries. Nor from the attempts to their delivery:
 *   its check locked the delivery row that the same statement had just updated, for every
 *   attempt recorded; deleting a subscription deletes its attempts too.
 * - Indexes: `(message_key, subscription_id)` is the idempotency key (the webhook-id is a hash
 *   of the pair) and serves lookups by message (cancel, the reconciler), replacing both the
 *   unique `(subscription_id, webhook_id)` and `webhook_deliveries_message_idx`; the open index
 *   on `next_attempt_at` goes (`nextDueAt` walks the per-subscription due index instead). Two
 *   fewer index entries per delivery written, and per outcome.
 */
export class WebhookMessages1764700000000 implements MigrationInterface {
  name = 'WebhookMessages1764700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE webhook_messages (
        message_key text PRIMARY KEY,
        event_type text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL
      );
      INSERT INTO webhook_messages (message_key, event_type, payload, created_at)
        SELECT DISTINCT ON (message_key) message_key, event_type, payload, created_at
          FROM webhook_deliveries
         ORDER BY message_key, created_at, id;

      CREATE UNIQUE INDEX webhook_deliveries_message_subscription_key
        ON webhook_deliveries (message_key, subscription_id);
      ALTER TABLE webhook_deliveries
        DROP CONSTRAINT webhook_deliveries_subscription_id_webhook_id_key,
        DROP CONSTRAINT webhook_deliveries_subscription_id_fkey,
        DROP COLUMN payload;
      DROP INDEX webhook_deliveries_message_idx;
      DROP INDEX webhook_deliveries_open_idx;
      ALTER TABLE webhook_attempts DROP CONSTRAINT webhook_attempts_delivery_id_fkey;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_deliveries ADD COLUMN payload jsonb;
      UPDATE webhook_deliveries d SET payload = m.payload
        FROM webhook_messages m WHERE m.message_key = d.message_key;
      DELETE FROM webhook_deliveries d
       WHERE NOT EXISTS (SELECT 1 FROM webhook_subscriptions s WHERE s.id = d.subscription_id);
      DELETE FROM webhook_attempts a
       WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = a.delivery_id);
      ALTER TABLE webhook_attempts ADD CONSTRAINT webhook_attempts_delivery_id_fkey
        FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE;
      ALTER TABLE webhook_deliveries
        ALTER COLUMN payload SET NOT NULL,
        ADD CONSTRAINT webhook_deliveries_subscription_id_webhook_id_key
          UNIQUE (subscription_id, webhook_id),
        ADD CONSTRAINT webhook_deliveries_subscription_id_fkey FOREIGN KEY (subscription_id)
          REFERENCES webhook_subscriptions (id) ON DELETE CASCADE;
      CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (message_key);
      CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (next_attempt_at)
        WHERE status IN ('pending', 'delivering');
      DROP INDEX webhook_deliveries_message_subscription_key;
      DROP TABLE webhook_messages;
    `);
  }
}
