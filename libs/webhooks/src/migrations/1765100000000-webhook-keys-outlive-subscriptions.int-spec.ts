import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookDispatcher } from '../webhook-dispatcher';
import { WebhookSubscriptionsService } from '../webhook-subscriptions.service';
import { WebhookUrlGuard } from '../webhook-url-guard';
import { WebhookKeysOutliveSubscriptions1765100000000 } from './1765100000000-webhook-keys-outlive-subscriptions';

/** Up, a deleted subscription's keys stay (its creation's retry is refused); down, they go. */
describe('Migration WebhookKeysOutliveSubscriptions1765100000000', () => {
  let db: TestDatabase;
  let subscriptions: WebhookSubscriptionsService;
  const migration = new WebhookKeysOutliveSubscriptions1765100000000();
  const body = {
    url: 'http://127.0.0.1:9/hook',
    description: 'keys outlive it',
    eventTypes: ['ping'],
    filters: {},
    leadTimes: [],
    format: 'standard' as const,
    enabled: true,
  };
  const keys = async () =>
    (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_idempotency_keys'))
      .rows[0].n;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_keys_outlive');
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] }),
      new WebhookUrlGuard({ allowPrivateNetworks: true }),
      { secretGraceMs: 0 },
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('keeps the keys of a deleted subscription, and drops them going down', async () => {
    const key = { key: `outlive-${randomUUID()}`, fingerprint: 'fingerprint' };
    const deleted = await subscriptions.create(body, key);
    await subscriptions.delete(deleted.id);
    expect(await keys()).toBe('1');

    await db.migrate(migration, 'down');
    expect(await keys()).toBe('0');
    // Down, keys go with their subscription again.
    const kept = await subscriptions.create(body, { ...key, key: `down-${randomUUID()}` });
    await subscriptions.delete(kept.id);
    expect(await keys()).toBe('0');

    await db.migrate(migration, 'up');
    const again = await subscriptions.create(body, { ...key, key: `up-${randomUUID()}` });
    await subscriptions.delete(again.id);
    expect(await keys()).toBe('1');
  });
});
