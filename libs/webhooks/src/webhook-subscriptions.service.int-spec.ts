import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookDispatcher } from './webhook-dispatcher';
import {
  InvalidWebhookCursorError,
  WebhookSubscriptionsService,
} from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';

/** The subscriptions service's lists on a real database: cursors handed out, and others. */
describe('WebhookSubscriptionsService lists', () => {
  let db: TestDatabase;
  let subscriptions: WebhookSubscriptionsService;
  let ids: string[];
  let tick = 0;

  const cursorOf = (at: string, id: string) =>
    Buffer.from(JSON.stringify([at, id])).toString('base64url');

  beforeAll(async () => {
    db = await createTestDatabase('webhook_subscriptions_service');
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] }),
      new WebhookUrlGuard({ allowPrivateNetworks: true }),
      // A millisecond apart, so that the list's order is the order of creation.
      { secretGraceMs: 3_600_000, clock: () => new Date(Date.UTC(2026, 0, 1) + (tick += 1)) },
    );
    ids = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await subscriptions.create({
        url: `http://127.0.0.1:9/hook-${i}`,
        description: '',
        eventTypes: ['ping'],
        filters: {},
        leadTimes: [],
        format: 'standard',
        enabled: true,
      });
      ids.push(created.id);
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('pages with the cursors it hands out; none or an empty one is the first page', async () => {
    const first = await subscriptions.list({ limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    const second = await subscriptions.list({ limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ id: ids[2] })], nextCursor: null });
    expect((await subscriptions.list({ limit: 2, cursor: '' })).items).toEqual(first.items);
  });

  it.each([
    ['not base64url JSON', 'zzz'],
    ['the literal ""', '""'],
    ['JSON of another shape', Buffer.from('{"at":1}').toString('base64url')],
    ['an id that is no uuid', cursorOf('2026-01-01T00:00:00.000Z', 'x')],
    ['an instant out of range', cursorOf('+010000-01-01T00:00:00.000Z', randomUUID())],
    ['a number for an instant', Buffer.from(`[0,"${randomUUID()}"]`).toString('base64url')],
  ])('refuses a cursor it did not hand out (%s) on both lists', async (_what, cursor) => {
    await expect(subscriptions.list({ limit: 2, cursor })).rejects.toThrow(
      InvalidWebhookCursorError,
    );
    await expect(subscriptions.deliveries(ids[0], { limit: 2, cursor })).rejects.toMatchObject({
      name: 'InvalidWebhookCursorError',
      code: 'validation-failed',
      field: 'cursor',
      message: 'is not a cursor this list handed out',
      cursor,
    });
  });
});

/**
 * A secret is shown when it is made: a retried creation or rotation (same Idempotency-Key) is
 * answered with it only while it is still the current secret, and for a day at most.
 */
describe('WebhookSubscriptionsService secrets shown to retries', () => {
  const HOUR = 3_600_000;
  let db: TestDatabase;
  let subscriptions: WebhookSubscriptionsService;
  let now = Date.UTC(2026, 0, 1);
  const body = {
    url: 'http://127.0.0.1:9/hook',
    description: '',
    eventTypes: ['ping'],
    filters: {},
    leadTimes: [],
    format: 'standard' as const,
    enabled: true,
  };
  const keyed = (name: string) => ({ key: `${name}-${randomUUID()}`, fingerprint: 'same' });

  beforeAll(async () => {
    db = await createTestDatabase('webhook_secret_replay');
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] }),
      new WebhookUrlGuard({ allowPrivateNetworks: true }),
      { secretGraceMs: HOUR, clock: () => new Date((now += 1)) },
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('answers a retried creation with its secret until a rotation replaces it', async () => {
    const key = keyed('create');
    const created = await subscriptions.create(body, key);
    now += 23 * HOUR;
    expect(await subscriptions.create(body, key)).toEqual(created);
    await subscriptions.rotateSecret(created.id);
    await expect(subscriptions.create(body, key)).rejects.toMatchObject({
      name: 'SecretSupersededError',
      code: 'idempotency-key-superseded',
      answeredVersion: 1,
      currentVersion: 2,
    });
  });

  it('does not show a secret to a retry more than a day after its request', async () => {
    const createKey = keyed('create-late');
    const created = await subscriptions.create(body, createKey);
    const rotateKey = keyed('rotate-late');
    const rotated = await subscriptions.rotateSecret(created.id, undefined, rotateKey);
    now += 23 * HOUR;
    expect(await subscriptions.rotateSecret(created.id, undefined, rotateKey)).toEqual(rotated);
    now += 2 * HOUR;
    await expect(subscriptions.rotateSecret(created.id, undefined, rotateKey)).rejects.toThrow(
      expect.objectContaining({
        name: 'WebhookStateConflictError',
        code: 'idempotency-key-expired',
      }),
    );
    const other = await subscriptions.create({ ...body, description: 'other' }, keyed('x'));
    const otherKey = keyed('create-later');
    await subscriptions.create({ ...body, description: 'third' }, otherKey);
    now += 25 * HOUR;
    await expect(
      subscriptions.create({ ...body, description: 'third' }, otherKey),
    ).rejects.toMatchObject({ code: 'idempotency-key-expired' });
    // Nothing was rotated by the refused retries.
    expect((await subscriptions.get(created.id)).version).toBe(2);
    expect((await subscriptions.get(other.id)).version).toBe(1);
  });
});
