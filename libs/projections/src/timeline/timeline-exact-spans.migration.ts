import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An append to a stream with a retraction now resumes from the `retracted_during` spans its
 * rows hold instead of asking the whole stream again at every recording instant. Spans filled
 * by `TimelineRetractedDuring1764910000000` are exact except on streams with a retracted
 * retraction; a database that skipped the rebuild it asked for would carry those forward for
 * ever. So the rows of every stream written before now are marked as not to be resumed from:
 * its next append recomputes the stream in full once (as every append did before), and marks it.
 * Rows written from now on are exact.
 */
export class TimelineExactSpans1764960003000 implements MigrationInterface {
  name = 'TimelineExactSpans1764960003000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE timeline_streams ADD COLUMN spans_exact boolean NOT NULL DEFAULT false;
      ALTER TABLE timeline_streams ALTER COLUMN spans_exact SET DEFAULT true;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE timeline_streams DROP COLUMN spans_exact');
  }
}
