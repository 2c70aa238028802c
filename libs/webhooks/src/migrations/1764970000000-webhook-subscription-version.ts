import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A subscription's version, its `ETag`: writes take `If-Match` (SPEC §4) and refuse to change a
 * subscription someone else changed since the client read it (412). It counts changes of what
 * the subscription is — through the API, or disabled by the deliverer (410, a run of
 * failures) — not its failure count, which moves with every attempt.
 */
export class WebhookSubscriptionVersion1764970000000 implements MigrationInterface {
  name = 'WebhookSubscriptionVersion1764970000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE webhook_subscriptions ADD COLUMN version integer NOT NULL DEFAULT 1',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE webhook_subscriptions DROP COLUMN version');
  }
}
