import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A message can be committed with the list of subscriptions it goes to and fanned out into
 * deliveries after that commit (an outbox): a burst of alerts then fires with one small row per
 * alert instead of one row per (alert, subscription), and the deliveries are written beside it.
 *
 * - `recipients`: the subscriptions a staged message still has to be fanned out to; NULL once
 *   its deliveries are written (and for messages dispatched with their deliveries at once).
 * - `deadline`: the message's retry deadline, which its deliveries carry once written.
 * - The partial index holds staged messages only, normally none: the delivery pump's sweep for
 *   messages a crashed worker left staged reads it on every poll.
 */
export class StagedWebhookMessages1764950000000 implements MigrationInterface {
  name = 'StagedWebhookMessages1764950000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE webhook_messages ADD COLUMN recipients uuid[], ADD COLUMN deadline timestamptz;
      CREATE INDEX webhook_messages_staged_idx ON webhook_messages (created_at)
        WHERE recipients IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Staged messages lose their recipients with the column: fan them out first (start a worker
    // and let its pump sweep) before going back.
    await queryRunner.query(`
      DROP INDEX webhook_messages_staged_idx;
      ALTER TABLE webhook_messages DROP COLUMN recipients, DROP COLUMN deadline;
    `);
  }
}
