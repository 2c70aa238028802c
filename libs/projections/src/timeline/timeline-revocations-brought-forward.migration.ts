import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A measure whose revocation was brought forward (a second, earlier revocation recorded) showed
 * on the timeline as revoked twice. The projection now marks the revocation that no longer says
 * when the measure ends with the one in force (the earliest standing, as the domain folds it),
 * from the recording of the later of the two on, as it marks a retracted fact.
 *
 * Marked here from the rows: exact as known now, and for every past `knownAt` on a stream whose
 * revocations were never retracted. The streams concerned are also set not to be resumed from
 * (`spans_exact`), so that their next append recomputes them from their events; `npm run cli --
 * projections:rebuild projection:timeline` recomputes every row at once.
 */
export class TimelineRevocationsBroughtForward1765510000000 implements MigrationInterface {
  name = 'TimelineRevocationsBroughtForward1765510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      WITH standing AS (
        SELECT event_id, stream_id, version, effective_at, recorded_at FROM timeline_facts
         WHERE type = 'MeasureRevoked' AND retracted_by IS NULL
      ), in_force AS (
        SELECT DISTINCT ON (stream_id) stream_id, event_id, recorded_at FROM standing
         ORDER BY stream_id, effective_at, version
      )
      UPDATE timeline_facts f
         SET retracted_by = i.event_id, retracted_at = i.recorded_at,
             retracted_during = f.retracted_during
               + tstzmultirange(tstzrange(greatest(s.recorded_at, i.recorded_at), NULL))
        FROM standing s JOIN in_force i USING (stream_id)
       WHERE f.event_id = s.event_id AND s.event_id <> i.event_id;
      UPDATE timeline_streams SET spans_exact = false
       WHERE stream_id IN (SELECT stream_id FROM timeline_facts WHERE type = 'MeasureRevoked'
                            GROUP BY stream_id HAVING count(*) > 1);
    `);
  }

  async down(): Promise<void> {
    // The marks are what the projection writes from now on; rows written by the code before
    // it are not kept, and a rebuild after going back computes them again.
  }
}
