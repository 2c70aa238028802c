import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookMessages1764700000000 } from './1764700000000-webhook-messages';

/** An existing database keeps its deliveries: the payloads move to one row per message. */
describe('Migration WebhookMessages1764700000000', () => {
  let db: TestDatabase;
  const migration = new WebhookMessages1764700000000();

  beforeAll(async () => {
    db = await createTestDatabase('webhook_messages_migration');
  });
  afterAll(async () => {
    await db.drop();
  });

  const migrate = (direction: 'up' | 'down') => db.migrate(migration, direction);

  it('moves each message’s payload into webhook_messages once, and back down', async () => {
    await migrate('down');
    const subscriptions = [randomUUID(), randomUUID()];
    for (const id of subscriptions)
      await db.pool.query(
        `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
         VALUES ($1, 'https://example.org/hook', '{*}', 'whsec_test', now(), now())`,
        [id],
      );
    const first = { type: 'suspension.expiring', timestamp: '2026-11-01T00:00:00.000Z', data: {} };
    // A second dispatch of the key, later, carried another body timestamp: the first is kept.
    const later = { ...first, timestamp: '2026-11-02T00:00:00.000Z' };
    const ping = { type: 'ping', timestamp: '2026-11-03T00:00:00.000Z', data: { n: 1 } };
    const rows = [
      [subscriptions[0], 'alert:a', 'suspension.expiring', first, '2026-11-01T00:00:00Z'],
      [subscriptions[1], 'alert:a', 'suspension.expiring', later, '2026-11-02T00:00:00Z'],
      [subscriptions[0], 'ping:b', 'ping', ping, '2026-11-03T00:00:00Z'],
    ] as const;
    const ids: string[] = [];
    for (const [subscription, key, type, payload, at] of rows) {
      const id = randomUUID();
      ids.push(id);
      await db.pool.query(
        `INSERT INTO webhook_deliveries (id, subscription_id, webhook_id, message_key, event_type,
           payload, status, run_started_at, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'succeeded', $7, $7, $7, $7)`,
        [id, subscription, `msg_${id}`, key, type, JSON.stringify(payload), at],
      );
    }

    await migrate('up');

    const { rows: messages } = await db.pool.query(
      'SELECT message_key, event_type, payload FROM webhook_messages ORDER BY message_key',
    );
    expect(messages).toEqual([
      { message_key: 'alert:a', event_type: 'suspension.expiring', payload: first },
      { message_key: 'ping:b', event_type: 'ping', payload: ping },
    ]);
    const { rows: deliveries } = await db.pool.query(
      'SELECT id, message_key, status FROM webhook_deliveries ORDER BY created_at',
    );
    expect(deliveries).toEqual([
      { id: ids[0], message_key: 'alert:a', status: 'succeeded' },
      { id: ids[1], message_key: 'alert:a', status: 'succeeded' },
      { id: ids[2], message_key: 'ping:b', status: 'succeeded' },
    ]);
    const { rows: columns } = await db.pool.query(
      `SELECT column_name FROM information_schema.columns
        WHERE table_name = 'webhook_deliveries' AND column_name = 'payload'`,
    );
    expect(columns).toEqual([]);

    // And back: every delivery gets its message's payload again.
    await migrate('down');
    const { rows: restored } = await db.pool.query(
      'SELECT message_key, payload FROM webhook_deliveries ORDER BY created_at',
    );
    expect(restored).toEqual([
      { message_key: 'alert:a', payload: first },
      { message_key: 'alert:a', payload: first },
      { message_key: 'ping:b', payload: ping },
    ]);
    await migrate('up');
  });
});
