import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Subscriptions keep their URL as deliveries call it (`url.href`, as `WebhookUrlGuard.check`
 * stores it since): the URLs stored before as typed (`HTTP://…`, a space, a tab, a backslash)
 * are rewritten to the form they were already delivered to, so that what an admin reads, and
 * sends back in a PATCH, is what is called and what a PATCH takes. Deliveries do not change.
 * A URL no parser takes is left as it is (its deliveries fail as they did). Nothing to undo.
 */
export class WebhookUrlsAsCalled1765400000000 implements MigrationInterface {
  name = 'WebhookUrlsAsCalled1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const rows = (await queryRunner.query('SELECT id, url FROM webhook_subscriptions')) as {
      id: string;
      url: string;
    }[];
    for (const { id, url } of rows) {
      const called = asCalled(url);
      if (called !== undefined && called !== url) {
        await queryRunner.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [
          id,
          called,
        ]);
      }
    }
  }

  async down(): Promise<void> {
    // The spellings replaced named the same addresses: nothing to put back.
  }
}

function asCalled(url: string): string | undefined {
  try {
    return new URL(url).href;
  } catch {
    return undefined;
  }
}
