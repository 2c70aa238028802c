import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `/expiries?targetParty=HK` matched a suspension's end through any scope its measure ever had
 * (`covered_parties`): a duty whose scope took Hong Kong in only after the end, or dropped it
 * before, listed an end that brings nothing back on Hong Kong's goods. `covered_at_end` holds
 * the target parties and the territories of the scope in force at the end.
 *
 * Filled here from the measure as `measure_status` holds it (the scope change in force at the
 * end, the later one of a tie, as the domain's `valueAt` picks it). That is exact when both
 * projections had caught up; `npm run cli -- projections:rebuild projection:suspension-ends`
 * recomputes every row from the log.
 */
export class SuspensionEndsCoveredAtEnd1764960000000 implements MigrationInterface {
  name = 'SuspensionEndsCoveredAtEnd1764960000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE suspension_ends ADD COLUMN covered_at_end text[] NOT NULL DEFAULT '{}';
      UPDATE suspension_ends s SET covered_at_end = ARRAY(
        SELECT party FROM (
          SELECT unnest(s.target_parties) AS party
          UNION
          SELECT jsonb_array_elements_text(scope.value->'inclusions') FROM (
            SELECT c.change->'value' AS value
              FROM measure_status m
             CROSS JOIN LATERAL jsonb_array_elements(
                     coalesce(m.measure::jsonb->'scopeHistory', '[]')) WITH ORDINALITY AS c(change, n)
             WHERE m.measure_id = s.measure_id
               AND (c.change->>'from' IS NULL OR s.ends_at IS NULL
                    OR (c.change->>'from')::timestamptz <= s.ends_at)
             ORDER BY c.n DESC LIMIT 1) scope
        ) parties ORDER BY party COLLATE "C");
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE suspension_ends DROP COLUMN covered_at_end');
  }
}
