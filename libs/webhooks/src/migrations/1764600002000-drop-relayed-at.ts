import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Deliveries are claimed from the table by the pump; nothing relays them to a queue any more. */
export class DropRelayedAt1764600002000 implements MigrationInterface {
  name = 'DropRelayedAt1764600002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE webhook_deliveries DROP COLUMN relayed_at');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE webhook_deliveries ADD COLUMN relayed_at timestamptz');
  }
}
