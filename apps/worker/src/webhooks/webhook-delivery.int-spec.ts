import { randomUUID } from 'node:crypto';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '@app/config';
import { DatabaseModule, PG_POOL } from '@app/database';
import { allMigrations } from '@app/migrations';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  WebhookReceiver,
  type ReceiverHandler,
  type TestDatabase,
} from '@app/testing';
import { WebhookDispatcher, WebhookSubscriptionsService } from '@app/webhooks';
import type { Pool } from 'pg';
import { Webhook } from 'standardwebhooks';
import { WebhooksWorkerModule } from './webhooks-worker.module';

@Module({
  imports: [
    ConfigModule,
    DatabaseModule.forRoot({ migrations: allMigrations, migrate: true, applicationName: 'test' }),
    WebhooksWorkerModule,
  ],
})
class DeliveryTestModule {}

/**
 * The worker's delivery path for real: the pump claiming from PostgreSQL, the HTTP client, and a
 * receiver on loopback. Backoff is shrunk so that retries come in seconds.
 */
describe('webhook delivery through BullMQ', () => {
  const prefix = testRedisPrefix('webhooks');
  let db: TestDatabase;
  let app: INestApplicationContext;
  let receiver: WebhookReceiver;
  let subscriptions: WebhookSubscriptionsService;
  let counter = 0;

  async function subscribe(handler?: ReceiverHandler) {
    const path = `/hook-${(counter += 1)}`;
    if (handler) receiver.handle(path, handler);
    const created = await subscriptions.create({
      url: receiver.url(path),
      description: `test ${path}`,
      eventTypes: ['suspension.*'],
      filters: {},
      leadTimes: [],
      format: 'standard',
      enabled: true,
    });
    return { ...created, path };
  }

  /** Dispatches in a transaction of its own, like the alerts side does with its own work. */
  async function dispatch(subscriptionId: string, count = 1): Promise<string[]> {
    const dispatcher = app.get(WebhookDispatcher);
    const pool = app.get<Pool>(PG_POOL);
    const keys = Array.from({ length: count }, () => `alert-${randomUUID()}`);
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      for (const messageKey of keys)
        await dispatcher.dispatch(client, {
          type: 'suspension.expiring',
          messageKey,
          data: { alertId: messageKey },
          match: { parties: ['US', 'CN'], leadTime: 'P7D' },
          subscriptionIds: [subscriptionId],
        });
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    return keys;
  }

  const deliveries = async (subscriptionId: string) =>
    (
      await db.pool.query(
        'SELECT * FROM webhook_deliveries WHERE subscription_id = $1 ORDER BY created_at',
        [subscriptionId],
      )
    ).rows;
  const gaps = (times: number[]) => times.slice(1).map((time, index) => time - times[index]);

  beforeAll(async () => {
    db = await createTestDatabase('webhook_delivery');
    receiver = await WebhookReceiver.start();
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      LOG_LEVEL: 'error',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RETRY_BASE_MS: '400',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_DISABLE_AFTER_FAILURES: '6',
      WEBHOOK_TIMEOUT_MS: '10000',
    });
    app = await NestFactory.createApplicationContext(DeliveryTestModule, { logger: ['error'] });
    await app.init();
    subscriptions = app.get(WebhookSubscriptionsService);
  });
  afterAll(async () => {
    await app?.close();
    await receiver.close();
    await deleteRedisPrefix(prefix);
    await db.drop();
  });

  it('delivers a dispatched message, signed, once it is committed', async () => {
    const subscription = await subscribe();
    const [key] = await dispatch(subscription.id);
    const request = await eventually(() => {
      expect(receiver.on(subscription.path)).toHaveLength(1);
      return receiver.on(subscription.path)[0];
    });
    expect(new Webhook(subscription.secret).verify(request.body, request.headers)).toMatchObject({
      type: 'suspension.expiring',
      data: { alertId: key },
    });
    await eventually(async () =>
      expect(await deliveries(subscription.id)).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 1, last_status_code: 204 }),
      ]),
    );
  });

  it('deletes a subscription with its deliveries and their attempts', async () => {
    const subscription = await subscribe();
    const [key] = await dispatch(subscription.id);
    await eventually(async () =>
      expect(await deliveries(subscription.id)).toEqual([
        expect.objectContaining({ message_key: key, status: 'succeeded' }),
      ]),
    );
    const [delivery] = await deliveries(subscription.id);

    await subscriptions.delete(subscription.id);

    expect(await deliveries(subscription.id)).toEqual([]);
    const { rows } = await db.pool.query('SELECT 1 FROM webhook_attempts WHERE delivery_id = $1', [
      delivery.id,
    ]);
    expect(rows).toEqual([]);
    // The message stays (other subscriptions may have it); a dispatch to the deleted
    // subscription writes nothing.
    const dispatcher = app.get(WebhookDispatcher);
    expect(
      await dispatcher.dispatch(db.pool, {
        type: 'ping',
        messageKey: `ping:${randomUUID()}`,
        data: {},
        match: { parties: [] },
        subscriptionIds: [subscription.id],
      }),
    ).toBe(0);
    expect(await deliveries(subscription.id)).toEqual([]);
  });

  it('retries a 500 with growing gaps until a 200, with one webhook-id and fresh timestamps', async () => {
    const subscription = await subscribe((_request, n) => ({ status: n < 3 ? 500 : 200 }));
    await dispatch(subscription.id);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(4), {
      timeoutMs: 15_000,
    });
    const requests = receiver.on(subscription.path);
    const [first, second, third] = gaps(requests.map((request) => request.at));
    // Equal jitter around 400 ms · 2^n: [200, 400], [400, 800], [800, 1600] (timers are late, not early).
    expect(first).toBeGreaterThanOrEqual(190);
    expect(second).toBeGreaterThanOrEqual(390);
    expect(third).toBeGreaterThanOrEqual(790);
    expect(third).toBeGreaterThan(first);
    expect(new Set(requests.map((request) => request.headers['webhook-id'])).size).toBe(1);
    for (const request of requests)
      expect(() =>
        new Webhook(subscription.secret).verify(request.body, request.headers),
      ).not.toThrow();

    await eventually(async () => {
      const [row] = await deliveries(subscription.id);
      expect(row).toMatchObject({ status: 'succeeded', attempts: 4 });
      const attempts = await db.pool.query(
        'SELECT status_code FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at',
        [row.id],
      );
      expect(attempts.rows.map((attempt) => attempt.status_code)).toEqual([500, 500, 500, 200]);
    });
  });

  it('honours Retry-After on a 429', async () => {
    const subscription = await subscribe((_request, n) =>
      n === 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 },
    );
    await dispatch(subscription.id);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(2), {
      timeoutMs: 10_000,
    });
    const [gap] = gaps(receiver.on(subscription.path).map((request) => request.at));
    expect(gap).toBeGreaterThanOrEqual(1_950);
  });

  it('disables the subscription on a 410, and sends it nothing more', async () => {
    const subscription = await subscribe(() => ({ status: 410 }));
    await dispatch(subscription.id);
    await eventually(async () =>
      expect(await subscriptions.get(subscription.id)).toMatchObject({
        enabled: false,
        disabledReason: expect.stringContaining('410'),
      }),
    );
    await dispatch(subscription.id);
    await eventually(async () =>
      expect((await deliveries(subscription.id)).map((row) => row.status)).toEqual([
        'failed',
        'failed',
      ]),
    );
    expect(receiver.on(subscription.path)).toHaveLength(1);
  });

  it('does not let a slow endpoint hold up another subscription', async () => {
    const slow = await subscribe(() => ({ status: 200, delayMs: 3000 }));
    const fast = await subscribe();
    await dispatch(slow.id, 3);
    await dispatch(fast.id, 5);
    await eventually(() => expect(receiver.on(fast.path)).toHaveLength(5), { timeoutMs: 2500 });
    await eventually(async () =>
      expect((await deliveries(slow.id)).map((row) => row.status)).toEqual([
        'succeeded',
        'succeeded',
        'succeeded',
      ]),
    );
  });

  it('sends again, with its webhook-id, a delivery whose worker died mid-send once its lease runs out', async () => {
    const subscription = await subscribe();
    // What a worker killed mid-send leaves behind: the delivery claimed under a lease that
    // nobody will release (set in the dispatching transaction, so the pump cannot claim it first).
    const pool = app.get<Pool>(PG_POOL);
    const client = await pool.connect();
    const messageKey = `alert-${randomUUID()}`;
    try {
      await client.query('BEGIN');
      await app.get(WebhookDispatcher).dispatch(client, {
        type: 'suspension.expiring',
        messageKey,
        data: { alertId: messageKey },
        match: { parties: ['US'], leadTime: 'P7D' },
        subscriptionIds: [subscription.id],
      });
      await client.query(
        `UPDATE webhook_deliveries SET claimed_by = $2, claimed_until = now() + interval '1500 ms'
          WHERE subscription_id = $1`,
        [subscription.id, randomUUID()],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(receiver.on(subscription.path)).toHaveLength(0);

    // Two attempts: the dead worker's, logged without an outcome when its lease is taken over.
    await eventually(async () =>
      expect(await deliveries(subscription.id)).toEqual([
        expect.objectContaining({ status: 'succeeded', attempts: 2, claimed_by: null }),
      ]),
    );
    const [row] = await deliveries(subscription.id);
    expect(receiver.on(subscription.path).map((request) => request.headers['webhook-id'])).toEqual([
      row.webhook_id,
    ]);
  });

  it('delivers a burst to many subscriptions once each, outcomes and attempts all recorded', async () => {
    const targets: Awaited<ReturnType<typeof subscribe>>[] = [];
    for (let i = 0; i < 10; i += 1) targets.push(await subscribe());
    const dispatcher = app.get(WebhookDispatcher);
    const pool = app.get<Pool>(PG_POOL);
    const client = await pool.connect();
    const keys = Array.from({ length: 30 }, () => `alert-${randomUUID()}`);
    try {
      await client.query('BEGIN');
      const counts = await dispatcher.dispatchMany(
        client,
        keys.map((messageKey) => ({
          type: 'suspension.expiring' as const,
          messageKey,
          data: { alertId: messageKey },
          match: { parties: ['US'], leadTime: 'P7D' },
          subscriptionIds: targets.map((target) => target.id),
        })),
      );
      expect(counts).toEqual(keys.map(() => targets.length));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const ids = targets.map((target) => target.id);
    await eventually(
      async () => {
        const { rows } = await db.pool.query(
          `SELECT status, count(*)::int AS n FROM webhook_deliveries
            WHERE subscription_id = ANY($1) GROUP BY status`,
          [ids],
        );
        expect(rows).toEqual([{ status: 'succeeded', n: 300 }]);
      },
      { timeoutMs: 15_000 },
    );
    const { rows: attempts } = await db.pool.query(
      `SELECT count(*)::int AS n FROM webhook_attempts a JOIN webhook_deliveries d
          ON d.id = a.delivery_id WHERE d.subscription_id = ANY($1) AND a.status_code = 204`,
      [ids],
    );
    expect(attempts).toEqual([{ n: 300 }]);
    for (const target of targets) {
      const received = receiver.on(target.path).map((request) => request.headers['webhook-id']);
      expect(received).toHaveLength(30);
      expect(new Set(received).size).toBe(30);
      for (const request of receiver.on(target.path))
        expect(() =>
          new Webhook(target.secret).verify(request.body, request.headers),
        ).not.toThrow();
    }
  });
});
