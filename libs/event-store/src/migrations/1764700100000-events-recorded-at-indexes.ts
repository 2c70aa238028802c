import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transaction-time reads (`knownAt`) ask two things of the log that its indexes did not answer:
 *
 * - Whether a stream has an event recorded after a given time: the stream's (stream_id, version)
 *   key now carries `recorded_at`, so the check is an index-only scan instead of a visit to
 *   every event's heap row. The constraint keeps its name, which `EventStore.append` reads to
 *   tell an expected-version race from other unique violations.
 * - Which streams changed after a given time (`GET /expiries?knownAt=`): a BRIN index on
 *   `recorded_at`. Events are only ever appended, in about the order they are recorded, so a
 *   block range's summary is tight; the index is a few pages for millions of events and costs
 *   appends next to nothing, unlike a B-tree entry per event.
 */
export class EventsRecordedAtIndexes1764700100000 implements MigrationInterface {
  name = 'EventsRecordedAtIndexes1764700100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE events
        DROP CONSTRAINT events_stream_id_version_key,
        ADD CONSTRAINT events_stream_id_version_key UNIQUE (stream_id, version) INCLUDE (recorded_at);
      CREATE INDEX events_recorded_at_brin ON events USING brin (recorded_at);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      DROP INDEX events_recorded_at_brin;
      ALTER TABLE events
        DROP CONSTRAINT events_stream_id_version_key,
        ADD CONSTRAINT events_stream_id_version_key UNIQUE (stream_id, version);
    `);
  }
}
