import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deliveries are claimed in batches straight from PostgreSQL instead of one BullMQ job each.
 *
 * - `claimed_by` / `claimed_until`: the lease of the worker attempting a delivery. Neither is
 *   indexed, so taking a lease can be a HOT update (no new index entries); the lower fillfactor
 *   leaves room on each page for it. A worker that dies mid-send leaves a lease that runs out, and
 *   the delivery is claimed again (at least once, never lost).
 * - `webhook_deliveries_due_idx`: what a claim walks, per subscription, soonest first, so that a
 *   per-subscription cap can be applied in the same statement; `id` breaks ties (a burst shares
 *   one `next_attempt_at`), so that a claim can resume after the last row it took.
 * - The relay's index goes: nothing relays rows into a queue any more (`relayed_at` is dropped by the next migration).
 */
export class WebhookDeliveryClaims1764600000000 implements MigrationInterface {
  name = 'WebhookDeliveryClaims1764600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_deliveries
        ADD COLUMN claimed_by uuid,
        ADD COLUMN claimed_until timestamptz;
      ALTER TABLE webhook_deliveries SET (fillfactor = 80);
      CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (subscription_id, next_attempt_at, id)
        WHERE status IN ('pending', 'delivering');
      DROP INDEX webhook_deliveries_to_relay_idx;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE INDEX webhook_deliveries_to_relay_idx ON webhook_deliveries (created_at)
        WHERE status = 'pending' AND relayed_at IS NULL;
      DROP INDEX webhook_deliveries_due_idx;
      ALTER TABLE webhook_deliveries RESET (fillfactor);
      ALTER TABLE webhook_deliveries DROP COLUMN claimed_until, DROP COLUMN claimed_by;
    `);
  }
}
