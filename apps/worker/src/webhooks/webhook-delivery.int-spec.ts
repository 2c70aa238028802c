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
 * The worker's delivery path for real: the relay, BullMQ on Redis (a key prefix of its own),
 * the processor, and a receiver on loopback. Backoff is shrunk so that retries come in seconds.
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
      // Long, so that the flush test shows the marker at work rather than the periodic sweep.
      WEBHOOK_RELAY_SWEEP_MS: '600000',
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

  it('re-adds the jobs Redis lost: every pending delivery still arrives with its webhook-id', async () => {
    // Each message's first attempt is told to come back in 3 s: its job waits, delayed, in Redis.
    const seen = new Set<string>();
    const subscription = await subscribe((request) => {
      const id = request.headers['webhook-id'];
      if (seen.has(id)) return { status: 200 };
      seen.add(id);
      return { status: 503, headers: { 'retry-after': '3' } };
    });
    await dispatch(subscription.id, 5);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(5));
    await eventually(async () =>
      expect((await deliveries(subscription.id)).map((row) => row.status)).toEqual(
        Array(5).fill('pending'),
      ),
    );

    expect(await deleteRedisPrefix(prefix)).toBeGreaterThan(0);

    await eventually(
      async () =>
        expect((await deliveries(subscription.id)).map((row) => row.status)).toEqual(
          Array(5).fill('succeeded'),
        ),
      { timeoutMs: 15_000 },
    );
    const rows = await deliveries(subscription.id);
    const received = receiver.on(subscription.path).map((request) => request.headers['webhook-id']);
    expect(received).toHaveLength(10);
    expect(new Set(received)).toEqual(new Set(rows.map((row) => row.webhook_id)));
  });
});
