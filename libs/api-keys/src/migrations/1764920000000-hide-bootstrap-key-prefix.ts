import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Bootstrap keys were listed with the first four characters of `ADMIN_API_KEY`, a secret chosen
 * by hand: they are listed with `BOOTSTRAP_ADMIN_PREFIX` instead, revoked ones included.
 */
export class HideBootstrapKeyPrefix1764920000000 implements MigrationInterface {
  name = 'HideBootstrapKeyPrefix1764920000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      "UPDATE api_keys SET prefix = '(ADMIN_API_KEY)' WHERE name = 'bootstrap-admin'",
    );
  }

  async down(): Promise<void> {
    // The characters that were shown are not known any more: nothing to restore.
  }
}
