import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The parties whose goods a measure reaches: its target parties and the territories its scope
 * includes at any time (SPEC §1: Hong Kong and Macao are separate codes, and a measure's scope
 * says which it covers; the US fentanyl duty on China covers Hong Kong). Lists and the tariff
 * summary filter on it, so that "what does the US charge on HK goods" finds that duty.
 */
export class MeasureStatusCoveredParties1764800000000 implements MigrationInterface {
  name = 'MeasureStatusCoveredParties1764800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE measure_status ADD COLUMN covered_parties text[] NOT NULL DEFAULT '{}';
      UPDATE measure_status SET covered_parties = ARRAY(
        SELECT DISTINCT party FROM (
          SELECT unnest(target_parties) AS party
          UNION
          SELECT jsonb_array_elements_text(change->'value'->'inclusions')
            FROM jsonb_array_elements(coalesce(measure::jsonb->'scopeHistory', '[]')) AS change
        ) parties ORDER BY party);
      CREATE INDEX measure_status_covered_idx ON measure_status USING gin (covered_parties);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE measure_status DROP COLUMN covered_parties');
  }
}
