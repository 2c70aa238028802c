import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Conditional suspensions waiting for another suspension to take effect (process manager). */
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
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE suspension_waits');
  }
}
