import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A measure's facts named the territories of every scope the measure ever had, so
 * `/timeline?party=HK` showed facts from before its scope took Hong Kong in (or after it dropped
 * it). They now name those of the scope in force on the fact's `effectiveAt` (a scope amendment
 * also those of the scope it replaces), as the projection computes them (`partiesConcerned`).
 *
 * Recomputed here from the measure as `measure_status` holds it. That is exact when both
 * projections had caught up; the facts of a measure whose recording was retracted keep their
 * parties. `npm run cli -- projections:rebuild projection:timeline` recomputes every row.
 */
export class TimelinePartiesInForce1764960002000 implements MigrationInterface {
  name = 'TimelinePartiesInForce1764960002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE timeline_facts f SET parties = ARRAY(
        SELECT party FROM (
          SELECT f.imposing_party AS party, 0 AS rank
          UNION ALL
          SELECT unnest(m.target_parties), 1
          UNION ALL
          SELECT jsonb_array_elements_text(s.change->'value'->'inclusions'), 1
            FROM (VALUES (f.effective_at),
                         (CASE WHEN f.type = 'MeasureScopeAmended'
                               THEN f.effective_at - interval '1 millisecond' END)) v(at)
           CROSS JOIN LATERAL (
             SELECT c.change
               FROM jsonb_array_elements(coalesce(m.measure::jsonb->'scopeHistory', '[]'))
                    WITH ORDINALITY AS c(change, n)
              WHERE c.change->>'from' IS NULL OR (c.change->>'from')::timestamptz <= v.at
              ORDER BY c.n DESC LIMIT 1) s
           WHERE v.at IS NOT NULL
          UNION ALL
          SELECT e.payload->>'party', 2 FROM events e
           WHERE e.position = f.position AND f.type = 'PartyClaimRecorded'
        ) p
         WHERE party IS NOT NULL
         GROUP BY party ORDER BY min(rank), party COLLATE "C")
        FROM measure_status m
       WHERE f.measure_id = m.measure_id AND m.measure IS NOT NULL;
    `);
  }

  async down(): Promise<void> {
    // The parties of every scope ever are not kept: a rebuild of the timeline after going back
    // computes them again.
  }
}
