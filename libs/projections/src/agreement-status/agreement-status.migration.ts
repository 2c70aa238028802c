import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The agreement read model: one row per agreement with its folded state. */
export class CreateAgreementStatus1764300004000 implements MigrationInterface {
  name = 'CreateAgreementStatus1764300004000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE agreement_status (
        agreement_id uuid PRIMARY KEY,
        code text,
        title text,
        parties text[] NOT NULL DEFAULT '{}',
        concluded_at timestamptz,
        state jsonb NOT NULL,
        version bigint NOT NULL,
        last_position bigint NOT NULL
      );
    `);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE agreement_status');
  }
}
