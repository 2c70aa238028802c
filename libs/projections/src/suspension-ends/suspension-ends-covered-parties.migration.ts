import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The parties whose goods a suspended measure reaches (its targets and the territories its
 * scope includes), for `/expiries?targetParty=HK` as for the measure list. Rows written before
 * start from their target parties; `projections:rebuild` adds the inclusions.
 */
export class SuspensionEndsCoveredParties1764800002000 implements MigrationInterface {
  name = 'SuspensionEndsCoveredParties1764800002000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE suspension_ends ADD COLUMN covered_parties text[] NOT NULL DEFAULT '{}';
      UPDATE suspension_ends SET covered_parties = target_parties;
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE suspension_ends DROP COLUMN covered_parties');
  }
}
