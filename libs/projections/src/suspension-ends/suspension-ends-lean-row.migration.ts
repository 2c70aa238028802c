import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Suspension ends keep, beside their rows, only each measure's version and revisions: the
 * folded state (the measure and its whole event history) was a second copy of what
 * measure_status holds, written again for every measure a batch touched. The projection reads
 * a stream back from the event store when it resumes one.
 */
export class SuspensionEndsLeanRow1764510000000 implements MigrationInterface {
  name = 'SuspensionEndsLeanRow1764510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE suspension_end_measures DROP COLUMN state');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The states cannot be rebuilt here: the projection must be rebuilt after going back.
    await queryRunner.query(
      `ALTER TABLE suspension_end_measures
         ADD COLUMN state jsonb NOT NULL DEFAULT '{"history":[],"measure":null}'`,
    );
  }
}
