import { randomUUID } from 'node:crypto';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import type { SqlRunner } from './infrastructure/queryable';
import { WebhookDispatcher } from './webhook-dispatcher';
import type { WebhookMessage } from './webhook-message';
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

/**
 * A dispatcher that, once armed, stops the next dispatch (inside the transaction of the write
 * that dispatches, after that write claimed its idempotency key) until the test lets it go.
 */
class HeldDispatcher extends WebhookDispatcher {
  private held?: { reached: () => void; released: Promise<void> };

  /** Resolves when a dispatch is held; call the returned function to let it go on. */
  holdNext(): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const atDispatch = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { reached, released };
    return { reached: atDispatch, release };
  }

  override async dispatch(runner: SqlRunner, message: WebhookMessage): Promise<number> {
    const held = this.held;
    this.held = undefined;
    if (held) {
      held.reached();
      await held.released;
    }
    return super.dispatch(runner, message);
  }
}

/**
 * One Idempotency-Key serves one request, whichever write to a subscription it comes with: a
 * creation included, even racing another write; and a retry is recognised before its URL is
 * checked again.
 */
describe('WebhookSubscriptionsService idempotency keys across creation and writes', () => {
  let db: TestDatabase;
  let dispatcher: HeldDispatcher;
  let subscriptions: WebhookSubscriptionsService;
  /** Where the guard's resolver sends each host name, as the test changes it. */
  const dnsTable: Record<string, string> = { 'hooks.test': '93.184.215.14' };
  const body = {
    url: 'http://hooks.test/hook',
    description: '',
    eventTypes: ['ping'],
    filters: {},
    leadTimes: [],
    format: 'standard' as const,
    enabled: true,
  };
  const keyed = (name: string, fingerprint = 'same') => ({
    key: `${name}-${randomUUID()}`,
    fingerprint,
  });
  const settle = <T>(promise: Promise<T>) =>
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  const subscriptionCount = async (description: string) =>
    Number(
      (
        await db.pool.query<{ n: string }>(
          'SELECT count(*) AS n FROM webhook_subscriptions WHERE description = $1',
          [description],
        )
      ).rows[0].n,
    );

  beforeAll(async () => {
    db = await createTestDatabase('webhook_key_claims');
    dispatcher = new HeldDispatcher({ defaultLeadTimes: ['PT0S'] });
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      dispatcher,
      new WebhookUrlGuard({
        allowPrivateNetworks: false,
        resolver: (hostname) =>
          dnsTable[hostname]
            ? Promise.resolve([{ address: dnsTable[hostname], family: 4 }])
            : Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' })),
      }),
      { secretGraceMs: 3_600_000 },
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('lets one of a creation and a test racing with the same key succeed, and refuses the other', async () => {
    dnsTable['race.test'] = '93.184.215.14';
    const target = await subscriptions.create({ ...body, url: 'http://race.test/target' });
    const key = keyed('race');
    const racing = { ...body, url: 'http://race.test/racing', description: 'racing creation' };

    // The test claims the key, then stays in its transaction (at its dispatch) while the
    // creation runs: the creation either completes meanwhile, or waits for that claim.
    const held = dispatcher.holdNext();
    const ping = settle(subscriptions.test(target.id, key));
    await held.reached;
    let creationSettled = false;
    const creation = settle(subscriptions.create(racing, key)).finally(
      () => (creationSettled = true),
    );
    await eventually(
      async () => {
        const { rows } = await db.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        expect(creationSettled || Number(rows[0].n) > 0).toBe(true);
      },
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    held.release();

    const [pinged, created] = await Promise.all([ping, creation]);
    expect(pinged).toEqual({ value: expect.objectContaining({ deliveryId: expect.any(String) }) });
    expect(created).toEqual({
      error: expect.objectContaining({ name: 'CommandIdReusedError' }),
    });
    expect(await subscriptionCount('racing creation')).toBe(0);
    // The key stays the test's: its retry answers as it did, a creation's is still refused.
    expect(await subscriptions.test(target.id, key)).toEqual((pinged as { value: unknown }).value);
    await expect(subscriptions.create(racing, key)).rejects.toMatchObject({
      name: 'CommandIdReusedError',
    });
  });

  it('answers a retried change of URL as the first did after its host stopped resolving publicly', async () => {
    dnsTable['moving.test'] = '93.184.215.14';
    const created = await subscriptions.create(body);
    const key = keyed('patch-url');
    const changed = await subscriptions.update(
      created.id,
      { url: 'http://moving.test/hook' },
      undefined,
      key,
    );
    expect(changed).toMatchObject({ url: 'http://moving.test/hook', version: 2 });

    dnsTable['moving.test'] = '10.0.0.1';
    expect(
      await subscriptions.update(created.id, { url: 'http://moving.test/hook' }, [1], key),
    ).toEqual(changed);
    delete dnsTable['moving.test'];
    expect(
      await subscriptions.update(created.id, { url: 'http://moving.test/hook' }, undefined, key),
    ).toEqual(changed);
    // A new request is checked: the host no longer resolves.
    await expect(
      subscriptions.update(created.id, { url: 'http://moving.test/hook' }, undefined, keyed('new')),
    ).rejects.toMatchObject({ code: 'webhook-url-refused' });
    // Another request with the key is refused as reused, not checked.
    await expect(
      subscriptions.update(created.id, { url: 'http://moving.test/other' }, undefined, {
        key: key.key,
        fingerprint: 'another',
      }),
    ).rejects.toMatchObject({ name: 'CommandIdReusedError' });
    expect((await subscriptions.get(created.id)).version).toBe(2);
  });

  it('answers a retried creation as the first did after its host stopped resolving publicly', async () => {
    dnsTable['created-moving.test'] = '93.184.215.14';
    const moving = { ...body, url: 'http://created-moving.test/hook', description: 'moving' };
    const key = keyed('create-url');
    const created = await subscriptions.create(moving, key);
    dnsTable['created-moving.test'] = '192.168.1.10';
    expect(await subscriptions.create(moving, key)).toEqual(created);
    await expect(subscriptions.create(moving, keyed('other'))).rejects.toMatchObject({
      code: 'webhook-url-refused',
    });
    expect(await subscriptionCount('moving')).toBe(1);
  });

  it('does not bring back a subscription deleted since for a retried creation, and keeps the key apart from writes', async () => {
    const again = { ...body, description: 'made again' };
    const key = keyed('deleted');
    const first = await subscriptions.create(again, key);
    await expect(subscriptions.rotateSecret(first.id, undefined, key)).rejects.toMatchObject({
      name: 'CommandIdReusedError',
    });
    await subscriptions.delete(first.id);
    // A client still retrying a lost answer: its subscription stays deleted.
    await expect(subscriptions.create(again, key)).rejects.toMatchObject({
      code: 'webhook-subscription-deleted',
      subscriptionId: first.id,
    });
    expect(await subscriptionCount('made again')).toBe(0);
    // A new key creates as any new request does.
    await subscriptions.create(again, keyed('deleted-then-new'));
    expect(await subscriptionCount('made again')).toBe(1);
  });
});
