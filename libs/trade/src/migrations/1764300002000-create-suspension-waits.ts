import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The conditional-suspension process manager's memory: which suspensions wait for which, and
 * which have started (a wait may be committed after its trigger started).
 */
export class CreateSuspensionWaits1764300002000 implements MigrationInterface {
  name = 'CreateSuspensionWaits1764300002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE suspension_waits (
        trigger_measure_id uuid NOT NULL,
        trigger_suspension_id text NOT NULL,
        measure_id uuid NOT NULL,
        suspension_id text NOT NULL,
        PRIMARY KEY (trigger_measure_id, trigger_suspension_id, measure_id, suspension_id)
      );
      CREATE TABLE suspension_starts (
        measure_id uuid NOT NULL,
        suspension_id text NOT NULL,
        starts_at text NOT NULL,
        sources jsonb NOT NULL,
        event_id uuid NOT NULL UNIQUE,
        PRIMARY KEY (measure_id, suspension_id)
      );
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE suspension_starts; DROP TABLE suspension_waits');
  }
}
