import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The measures each stream's `CountermeasureLinked` events ever named, retracted links too. A
 * measure's countermeasures as known at a past time were looked for among the rows that respond
 * to it now (`responds_to`), so a link retracted after that time was missing from them, though
 * it stood then. Filled from the log here, so no rebuild is needed.
 */
export class MeasureStatusLinkedTo1764960001000 implements MigrationInterface {
  name = 'MeasureStatusLinkedTo1764960001000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE measure_status ADD COLUMN linked_to text[] NOT NULL DEFAULT '{}';
      UPDATE measure_status m SET linked_to = l.linked_to
        FROM (SELECT measure_id, array_agg(linked ORDER BY linked COLLATE "C") AS linked_to
                FROM (SELECT DISTINCT substr(stream_id, 9)::uuid AS measure_id,
                             payload->>'respondsTo' AS linked
                        FROM events
                       WHERE type = 'CountermeasureLinked' AND stream_id LIKE 'measure-%') e
               GROUP BY measure_id) l
       WHERE m.measure_id = l.measure_id;
      CREATE INDEX measure_status_linked_idx ON measure_status USING gin (linked_to);
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE measure_status DROP COLUMN linked_to');
  }
}
