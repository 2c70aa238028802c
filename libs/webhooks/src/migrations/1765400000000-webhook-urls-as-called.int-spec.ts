import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookUrlsAsCalled1765400000000 } from './1765400000000-webhook-urls-as-called';

/** Subscriptions stored before URLs were kept as called get the form they were delivered to. */
describe('Migration WebhookUrlsAsCalled1765400000000', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_urls_as_called_migration');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('rewrites each URL as deliveries call it, and leaves the others alone', async () => {
    const stored = {
      'HTTP://Example.org/Upper': 'http://example.org/Upper',
      'https://example.org/with space': 'https://example.org/with%20space',
      'https://example.org/with\ttab': 'https://example.org/withtab',
      'https://example.org\\back\\slash': 'https://example.org/back/slash',
      'https://example.org/already': 'https://example.org/already',
      'not a url': 'not a url',
    };
    const ids = new Map<string, string>();
    for (const url of Object.keys(stored)) {
      const id = randomUUID();
      ids.set(url, id);
      await db.pool.query(
        `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
         VALUES ($1, $2, '{*}', 'whsec_test', now(), now())`,
        [id, url],
      );
    }

    await db.migrate(new WebhookUrlsAsCalled1765400000000(), 'up');

    const { rows } = await db.pool.query<{ id: string; url: string; version: number }>(
      'SELECT id, url, version FROM webhook_subscriptions WHERE id = ANY($1::uuid[])',
      [[...ids.values()]],
    );
    const now = new Map(rows.map((row) => [row.id, row]));
    for (const [before, after] of Object.entries(stored)) {
      expect({ before, after: now.get(ids.get(before)!)?.url }).toEqual({ before, after });
      // The same subscription: no new version for a change of spelling.
      expect(now.get(ids.get(before)!)?.version).toBe(1);
    }
  });
});
