import type { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'events_countermeasure_links_idx';

/**
 * A measure's countermeasures as known at a past time are judged by the `CountermeasureLinked`
 * and `EventRetracted` events of each stream linked to it (`countermeasuresKnownSql`). Found
 * through the stream's key, that meant a visit to the heap row of every event of every linked
 * stream (about twenty each in the benchmark's history) to read its type: most of the
 * PostgreSQL time of a `knownAt` read. This partial index holds only those two kinds, a few
 * percent of the log, so the read visits only the events it uses; other appends never touch it.
 *
 * It is an index on the event store's `events` table, yet it lives here: it names domain event
 * types, which the generic event store must not know, and the query it serves is this lib's.
 *
 * Built inside the migration, it blocks appends until it is done, which on a large log may take
 * a while. An operator with a large log can build it beforehand without blocking writes, with
 * the same definition and name:
 *
 *   CREATE INDEX CONCURRENTLY events_countermeasure_links_idx ON events (stream_id, version)
 *     INCLUDE (recorded_at) WHERE type IN ('CountermeasureLinked', 'EventRetracted');
 *
 * The migration then keeps that index. An interrupted concurrent build leaves an invalid index
 * that no read uses but every append still maintains; the migration drops such a leftover and
 * builds the index again.
 */
export class CountermeasureLinkEventsIndex1764990000000 implements MigrationInterface {
  name = 'CountermeasureLinkEventsIndex1764990000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const leftovers = (await queryRunner.query(
      'SELECT 1 FROM pg_index WHERE indexrelid = to_regclass($1) AND NOT indisvalid',
      [INDEX],
    )) as unknown[];
    if (leftovers.length) await queryRunner.query(`DROP INDEX ${INDEX}`);
    await queryRunner.query(`
      CREATE INDEX IF NOT EXISTS ${INDEX} ON events (stream_id, version)
        INCLUDE (recorded_at)
        WHERE type IN ('CountermeasureLinked', 'EventRetracted');
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX ${INDEX}`);
  }
}
