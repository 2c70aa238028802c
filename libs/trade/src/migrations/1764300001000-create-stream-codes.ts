import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The write-side index of human codes (`US-IEEPA-FENTANYL-CN`) to aggregate ids. A code is
 * claimed in the same transaction as the events that create its aggregate, so two measures can
 * never share one, whatever the order of their commits. Codes compare case-insensitively.
 */
export class CreateStreamCodes1764300001000 implements MigrationInterface {
  name = 'CreateStreamCodes1764300001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE stream_codes (
        kind text NOT NULL,
        normalized_code text NOT NULL,
        code text NOT NULL,
        aggregate_id uuid NOT NULL,
        PRIMARY KEY (kind, normalized_code)
      );
      CREATE INDEX stream_codes_aggregate_idx ON stream_codes (aggregate_id);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE stream_codes');
  }
}
