import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The valid-time timeline: one row per recorded fact at its `effective_at`, marked (never
 * deleted) once retracted, so that a past `knownAt` still sees it. Beside it, each stream's
 * events, from which its rows are recomputed when a retraction changes what still stands.
 */
export class CreateTimeline1764300011000 implements MigrationInterface {
  name = 'CreateTimeline1764300011000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE timeline_streams (
        stream_id text PRIMARY KEY,
        entries jsonb NOT NULL,
        version bigint NOT NULL,
        last_position bigint NOT NULL
      );
      CREATE TABLE timeline_facts (
        event_id uuid PRIMARY KEY,
        stream_id text NOT NULL,
        version bigint NOT NULL,
        position bigint NOT NULL,
        type text NOT NULL,
        effective_at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL,
        measure_id uuid,
        agreement_id uuid,
        code text,
        title text NOT NULL,
        kind text,
        imposing_party text,
        parties text[] NOT NULL,
        subject_id text,
        summary text NOT NULL,
        data jsonb NOT NULL,
        actor text,
        retracted_by uuid,
        retracted_at timestamptz
      );
      CREATE INDEX timeline_facts_effective_idx ON timeline_facts (effective_at, position);
      CREATE INDEX timeline_facts_parties_idx ON timeline_facts USING gin (parties);
      CREATE INDEX timeline_facts_stream_idx ON timeline_facts (stream_id);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE timeline_facts; DROP TABLE timeline_streams');
  }
}
