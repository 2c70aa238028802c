import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A revoked measure's `fullRate` is now the rate it ended with: a rate amendment or a phase of
 * its schedule dated at or after the revocation (recorded before it, so not refused) never took
 * effect. The list items stored with the rows were computed with them: those of revoked measures
 * whose rate history holds such a date, computed once the revocation had taken effect (status
 * `revoked`), are dropped here, and lists compute them from the measure until its next write
 * stores them again. Exact at once; nothing else stored changes (the detail, the tariff summary
 * and the exclusions and suspensions in effect are computed on read).
 */
export class MeasureStatusRevokedListItems1765530000000 implements MigrationInterface {
  name = 'MeasureStatusRevokedListItems1765530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      UPDATE measure_status m SET list_item = NULL
       WHERE m.list_item IS NOT NULL
         AND m.list_item->>'status' = 'revoked'
         AND EXISTS (
           SELECT 1 FROM json_array_elements(m.measure->'rateHistory') AS change
            WHERE (change->>'from')::timestamptz >= (m.measure->>'revokedAt')::timestamptz
               OR EXISTS (
                 SELECT 1 FROM json_array_elements(coalesce(change->'value'->'schedule', '[]'))
                          AS step
                  WHERE (step->>'from')::timestamptz >= (m.measure->>'revokedAt')::timestamptz))
    `);
  }

  async down(): Promise<void> {
    // Nothing to undo: a dropped list item is computed on read, and stored again on a write.
  }
}
