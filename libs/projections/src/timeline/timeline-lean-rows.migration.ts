import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The timeline stops copying the log. `timeline_streams.entries` held every event of each stream
 * again, rewritten whole for every stream a batch touched; the projection now reads a stream's
 * earlier events back from the event store when it resumes one. `timeline_facts.data` held
 * every fact's payload again; reads now take it from the event itself (by position), so a fact
 * row is its labels and marks only.
 */
export class TimelineLeanRows1764510001000 implements MigrationInterface {
  name = 'TimelineLeanRows1764510001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE timeline_streams DROP COLUMN entries;
      ALTER TABLE timeline_facts DROP COLUMN data;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // The entries and payloads cannot be rebuilt here: the projection must be rebuilt after
    // going back.
    await queryRunner.query(`
      ALTER TABLE timeline_streams ADD COLUMN entries jsonb NOT NULL DEFAULT '[]';
      ALTER TABLE timeline_facts ADD COLUMN data jsonb NOT NULL DEFAULT '{}';
    `);
  }
}
