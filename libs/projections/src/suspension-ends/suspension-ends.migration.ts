import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Upcoming suspension ends: one row per (measure, suspension) with its current end, and beside
 * it the folded measure each stream's rows are computed from (retractions replay the history).
 */
export class CreateSuspensionEnds1764300010000 implements MigrationInterface {
  name = 'CreateSuspensionEnds1764300010000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE suspension_end_measures (
        measure_id uuid PRIMARY KEY,
        state jsonb NOT NULL,
        revisions jsonb NOT NULL DEFAULT '{}',
        version bigint NOT NULL,
        last_position bigint NOT NULL
      );
      CREATE TABLE suspension_ends (
        measure_id uuid NOT NULL,
        suspension_id uuid NOT NULL,
        measure_code text,
        measure_title text NOT NULL,
        measure_kind text NOT NULL,
        imposing_party text NOT NULL,
        target_parties text[] NOT NULL,
        time_zone text NOT NULL,
        measure_revoked_at timestamptz,
        state text NOT NULL,
        starts_at timestamptz,
        starts_when jsonb,
        ends_at timestamptz,
        duration text,
        part_points numeric,
        agreement_id uuid,
        reinstates_automatically boolean NOT NULL,
        lifted_at timestamptz,
        lapsed_at timestamptz,
        extensions integer NOT NULL,
        sequence integer NOT NULL,
        changed_at timestamptz NOT NULL,
        version bigint NOT NULL,
        last_position bigint NOT NULL,
        PRIMARY KEY (measure_id, suspension_id)
      );
      CREATE INDEX suspension_ends_end_idx ON suspension_ends (ends_at, suspension_id, measure_id);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE suspension_ends; DROP TABLE suspension_end_measures');
  }
}
