import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Facts recorded before a revocation for dates it reaches (a measure announced to take effect
 * in July and revoked from June: its entry into force, amendments, suspensions' starts,
 * extensions and lapses, exclusions granted) stayed on the timeline after the revocation, while
 * the measure's status says it was revoked. The projection now marks them with the revocation
 * in force from the instant both were on record, as it marks a revocation brought forward (see
 * `endedByRevocation` in timeline-facts.ts): the decider refuses such facts once the revocation
 * is on record.
 *
 * Marked here from the rows: exact as known now, and for every past `knownAt` on a stream whose
 * revocations were never retracted (a fact then drops out at the first instant a revocation
 * dated at or before it and the fact itself were both recorded, and never comes back). The
 * streams concerned are also set not to be resumed from (`spans_exact`), so that their next
 * append recomputes them from their events; `npm run cli -- projections:rebuild
 * projection:timeline` recomputes every row at once.
 */
/** The kinds of fact the decider refuses once the measure is revoked by their date. */
const ENDED_KINDS = [
  'MeasureAnnounced',
  'MeasureImplemented',
  'MeasureRateAmended',
  'MeasureScopeAmended',
  'SuspensionScheduled',
  'SuspensionStarted',
  'SuspensionExtended',
  'SuspensionLapsed',
  'ExclusionGranted',
];

export class TimelineFactsEndedByRevocation1765520000000 implements MigrationInterface {
  name = 'TimelineFactsEndedByRevocation1765520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `WITH unretracted AS (
         -- Revocations never retracted: standing, or brought forward by another (marked with it).
         SELECT r.stream_id, r.event_id, r.version, r.effective_at, r.recorded_at,
                r.retracted_by IS NULL AS standing
           FROM timeline_facts r
          WHERE r.type = 'MeasureRevoked'
            AND (r.retracted_by IS NULL
                 OR EXISTS (SELECT 1 FROM timeline_facts b
                             WHERE b.event_id = r.retracted_by AND b.type = 'MeasureRevoked'))
       ), in_force AS (
         SELECT DISTINCT ON (stream_id) stream_id, event_id, effective_at, recorded_at
           FROM unretracted WHERE standing
          ORDER BY stream_id, effective_at, version
       ), judged AS (
         -- A conditional scheduling that came with its start (one append, one instant) is judged
         -- by that start, as the decider judges it.
         SELECT f.event_id, f.stream_id, f.recorded_at,
                coalesce(s.effective_at, f.effective_at) AS takes_effect_at
           FROM timeline_facts f
           LEFT JOIN LATERAL (
             SELECT s.effective_at FROM timeline_facts s
              WHERE f.type = 'SuspensionScheduled' AND s.type = 'SuspensionStarted'
                AND s.stream_id = f.stream_id AND s.subject_id = f.subject_id
                AND s.recorded_at = f.recorded_at AND s.retracted_by IS NULL
              LIMIT 1
           ) s ON true
          WHERE f.type = ANY($1::text[]) AND f.retracted_by IS NULL
            AND f.stream_id IN (SELECT stream_id FROM in_force)
       ), ended AS (
         SELECT j.event_id, i.event_id AS revocation, i.recorded_at AS revoked_at,
                (SELECT min(greatest(r.recorded_at, j.recorded_at)) FROM unretracted r
                  WHERE r.stream_id = j.stream_id AND r.effective_at <= j.takes_effect_at) AS since
           FROM judged j JOIN in_force i USING (stream_id)
          WHERE j.takes_effect_at >= i.effective_at
       )
       UPDATE timeline_facts f
          SET retracted_by = e.revocation, retracted_at = e.revoked_at,
              retracted_during = f.retracted_during + tstzmultirange(tstzrange(e.since, NULL))
         FROM ended e
        WHERE f.event_id = e.event_id`,
      [ENDED_KINDS],
    );
    // Every stream where a revocation may end a fact, whatever stands now: its spans of
    // transaction time are recomputed at its next append.
    await queryRunner.query(
      `UPDATE timeline_streams SET spans_exact = false
        WHERE stream_id IN (
          SELECT f.stream_id FROM timeline_facts f
            JOIN timeline_facts r ON r.stream_id = f.stream_id AND r.type = 'MeasureRevoked'
           WHERE f.type = ANY($1::text[])
             AND (f.type = 'SuspensionScheduled' OR f.effective_at >= r.effective_at))`,
      [ENDED_KINDS],
    );
  }

  async down(): Promise<void> {
    // The marks are what the projection writes from now on; rows written by the code before
    // it are not kept, and a rebuild after going back computes them again.
  }
}
