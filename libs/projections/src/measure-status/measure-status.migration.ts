import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The measure status read model: one row per measure with its folded state (valid-time status
 * on any date is computed from it on read) and the columns lists filter on.
 */
export class CreateMeasureStatus1764300003000 implements MigrationInterface {
  name = 'CreateMeasureStatus1764300003000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE measure_status (
        measure_id uuid PRIMARY KEY,
        code text,
        title text,
        kind text,
        imposing_party text,
        target_parties text[] NOT NULL DEFAULT '{}',
        agreement_ids text[] NOT NULL DEFAULT '{}',
        responds_to text[] NOT NULL DEFAULT '{}',
        search text NOT NULL DEFAULT '',
        state jsonb NOT NULL,
        version bigint NOT NULL,
        last_position bigint NOT NULL
      );
      CREATE INDEX measure_status_imposing_idx ON measure_status (imposing_party, measure_id);
      CREATE INDEX measure_status_targets_idx ON measure_status USING gin (target_parties);
      CREATE INDEX measure_status_kind_idx ON measure_status (kind, measure_id);
      CREATE INDEX measure_status_responds_idx ON measure_status USING gin (responds_to);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE measure_status');
  }
}
