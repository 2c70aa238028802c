import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A measure's countermeasures as known at a past time are judged by the `CountermeasureLinked`
 * and `EventRetracted` events of each stream linked to it (`countermeasuresKnownSql`). Found
 * through the stream's key, that meant a visit to the heap row of every event of every linked
 * stream (about twenty each in the benchmark's history) to read its type: most of the
 * PostgreSQL time of a `knownAt` read. This partial index holds only those two kinds, a few
 * percent of the log, so the read visits only the events it uses; other appends never touch it.
 */
export class CountermeasureLinkEventsIndex1764990000000 implements MigrationInterface {
  name = 'CountermeasureLinkEventsIndex1764990000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE INDEX events_countermeasure_links_idx ON events (stream_id, version)
        INCLUDE (recorded_at)
        WHERE type IN ('CountermeasureLinked', 'EventRetracted');
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX events_countermeasure_links_idx');
  }
}
