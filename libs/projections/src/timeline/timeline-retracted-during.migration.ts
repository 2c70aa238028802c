import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A fact's retraction mark said only when it stopped counting, so a retraction that was itself
 * retracted later could not be told apart: a past `knownAt` between the two saw the fact, and
 * one after a third retraction of the chain did not. `retracted_during` holds every span of
 * transaction time in which the fact did not count, from the stream as recorded by then.
 *
 * Filled here from the single mark, which is exact for every stream without a retracted
 * retraction; existing databases rebuild the timeline (`npm run cli -- projections:rebuild
 * projection:timeline`) to get the spans of those streams right.
 */
export class TimelineRetractedDuring1764910000000 implements MigrationInterface {
  name = 'TimelineRetractedDuring1764910000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE timeline_facts ADD COLUMN retracted_during tstzmultirange NOT NULL DEFAULT '{}';
      UPDATE timeline_facts SET retracted_during = tstzmultirange(tstzrange(retracted_at, NULL))
       WHERE retracted_at IS NOT NULL;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE timeline_facts DROP COLUMN retracted_during');
  }
}
