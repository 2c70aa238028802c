import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  createTestDatabase,
  eventually,
  StallingProxy,
  WebhookReceiver,
  type TestDatabase,
} from '@app/testing';
import { Registry } from 'prom-client';
import { inTransaction } from './infrastructure/webhook.repository';
import { NO_OUTCOME_RECORDED, WebhookDeliverer } from './webhook-deliverer';
import { WebhookDeliveryPump } from './webhook-delivery-pump';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';
import { webhookIdFor } from './webhook-secret';

/**
 * The pump on a real database and a real receiver, where its timing is the point (the worker's
 * delivery tests drive it through the worker module).
 */
describe('WebhookDeliveryPump', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let subscriptions: WebhookSubscriptionsService;
  const guard = new WebhookUrlGuard({ allowPrivateNetworks: true });
  const http = new WebhookHttpClient(guard, {
    connectTimeoutMs: 2000,
    timeoutMs: 5000,
    maxResponseBytes: 64,
  });
  const dispatcher = new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] });
  let counter = 0;

  async function subscribe(delayMs: number) {
    const path = `/pump-${(counter += 1)}`;
    receiver.handle(path, () => ({ status: 204, delayMs }));
    const created = await subscriptions.create({
      url: receiver.url(path),
      description: '',
      eventTypes: ['*'],
      filters: {},
      leadTimes: [],
      format: 'standard',
      enabled: true,
    });
    return { ...created, path };
  }

  /** A `ping` to one subscription, committed: its delivery row is there for the pump. */
  const ping = (subscriptionId: string) =>
    inTransaction(db.pool, (client) =>
      dispatcher.dispatch(client, {
        type: 'ping',
        messageKey: `ping-${randomUUID()}`,
        data: {},
        match: { parties: [] },
        subscriptionIds: [subscriptionId],
      }),
    );

  const attemptsOf = async (deliveryIds: string[]) =>
    (
      await db.pool.query<{ delivery_id: string; status_code: number | null; error: string }>(
        `SELECT delivery_id, status_code, error FROM webhook_attempts
          WHERE delivery_id = ANY($1::uuid[]) ORDER BY delivery_id, attempted_at, id`,
        [deliveryIds],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_pump');
    receiver = await WebhookReceiver.start();
    subscriptions = new WebhookSubscriptionsService(db.pool, dispatcher, guard, {
      secretGraceMs: 0,
    });
  });
  afterAll(async () => {
    await http.close();
    await receiver.close();
    await db.drop();
  });

  it('gives back a delivery it let go unattempted, so that it is not logged as an attempt', async () => {
    // One slot, a 3 s lease: a delivery not started within 1.5 s of its claim is let go. Three
    // deliveries claimed together to endpoints taking 1 s each: the third waits 2 s, is let go
    // when the second ends, before its lease has run out, and is claimed again and sent.
    const deliverer = new WebhookDeliverer(db.pool, http, new WebhookMetrics(new Registry()), {
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 },
      disableAfterFailures: 10,
      leaseMs: 3000,
    });
    const targets = [await subscribe(1000), await subscribe(1000), await subscribe(1000)];
    for (const target of targets) await ping(target.id);
    const { rows } = await db.pool.query<{ id: string }>(
      'SELECT id FROM webhook_deliveries WHERE subscription_id = ANY($1::uuid[])',
      [targets.map((target) => target.id)],
    );
    const deliveryIds = rows.map((row) => row.id);

    const pump = new WebhookDeliveryPump(deliverer, {
      databaseUrl: db.url,
      concurrency: 1,
      claimLanes: 1,
      pollIntervalMs: 100,
    });
    pump.start();
    try {
      await eventually(
        async () => {
          const { rows: open } = await db.pool.query(
            `SELECT id FROM webhook_deliveries WHERE id = ANY($1::uuid[]) AND status <> 'succeeded'`,
            [deliveryIds],
          );
          expect(open).toEqual([]);
        },
        { timeoutMs: 15_000 },
      );
    } finally {
      await pump.stop();
    }
    for (const target of targets) expect(receiver.on(target.path)).toHaveLength(1);
    const attempts = await attemptsOf(deliveryIds);
    expect(attempts.filter((attempt) => attempt.error === NO_OUTCOME_RECORDED)).toEqual([]);
    expect(attempts).toHaveLength(3);
  });

  it('delivers messages a crashed firer left staged, once the grace period is over', async () => {
    const deliverer = new WebhookDeliverer(db.pool, http, new WebhookMetrics(new Registry()), {
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 },
      disableAfterFailures: 10,
      leaseMs: 30_000,
    });
    const target = await subscribe(0);
    const messageKey = `alert:${randomUUID()}`;
    // Committed staged, then nothing: the process that staged it died before writing its rows.
    await inTransaction(db.pool, (client) =>
      dispatcher.stageMany(client, [
        {
          type: 'ping',
          messageKey,
          data: {},
          match: { parties: [] },
          subscriptionIds: [target.id],
        },
      ]),
    );
    const stagedAt = Date.now();
    const pump = new WebhookDeliveryPump(
      deliverer,
      { databaseUrl: db.url, concurrency: 2, pollIntervalMs: 100 },
      { dispatcher, runner: db.pool, graceMs: 1000 },
    );
    pump.start();
    try {
      await eventually(() => expect(receiver.on(target.path)).toHaveLength(1), {
        timeoutMs: 10_000,
      });
    } finally {
      await pump.stop();
    }
    // Left to its own process for the grace period first.
    expect(receiver.on(target.path)[0].at - stagedAt).toBeGreaterThanOrEqual(900);
    expect(receiver.on(target.path)[0].headers['webhook-id']).toBe(
      webhookIdFor(messageKey, target.id),
    );
    const { rows } = await db.pool.query(
      'SELECT status FROM webhook_deliveries WHERE message_key = $1',
      [messageKey],
    );
    expect(rows).toEqual([{ status: 'succeeded' }]);
  });

  it('says when its LISTEN connection is lost and when it is back, and delivers meanwhile', async () => {
    const warnings = jest.spyOn(Logger.prototype, 'warn');
    const logs = jest.spyOn(Logger.prototype, 'log');
    const deliverer = new WebhookDeliverer(db.pool, http, new WebhookMetrics(new Registry()), {
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 },
      disableAfterFailures: 10,
      leaseMs: 30_000,
    });
    const target = await subscribe(0);
    const listener = `SELECT pid FROM pg_stat_activity
                       WHERE application_name = 'accord-webhook-pump' AND datname = current_database()`;
    // A poll of a second: the connection comes back on the pass after the loss.
    const pump = new WebhookDeliveryPump(deliverer, {
      databaseUrl: db.url,
      concurrency: 2,
      pollIntervalMs: 1000,
    });
    pump.start();
    try {
      await eventually(async () => expect((await db.pool.query(listener)).rows).toHaveLength(1));
      await db.pool.query(`SELECT pg_terminate_backend(pid) FROM (${listener}) AS l`);
      await eventually(() =>
        expect(warnings).toHaveBeenCalledWith(
          expect.stringMatching(
            /^The pump's LISTEN connection was lost: .*; polling every 1000 ms/,
          ),
        ),
      );
      await eventually(() =>
        expect(logs).toHaveBeenCalledWith("The pump's LISTEN connection is back"),
      );
      await ping(target.id);
      await eventually(() => expect(receiver.on(target.path)).toHaveLength(1));
    } finally {
      await pump.stop();
      warnings.mockRestore();
      logs.mockRestore();
    }
  });

  it('replaces a claim connection that stopped answering, and delivers once the path heals', async () => {
    // The claims' connection goes through a proxy that cuts it without a word (a partition);
    // the pool, which records outcomes, does not.
    const proxy = await StallingProxy.start(db.url);
    const deliverer = new WebhookDeliverer(db.pool, http, new WebhookMetrics(new Registry()), {
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000, windowMs: 3_600_000 },
      disableAfterFailures: 10,
    });
    const target = await subscribe(0);
    const pump = new WebhookDeliveryPump(deliverer, {
      databaseUrl: proxy.through(db.url),
      concurrency: 2,
      claimLanes: 1,
      pollIntervalMs: 100,
      queryTimeoutMs: 300,
    });
    pump.start();
    try {
      await ping(target.id);
      await eventually(() => expect(receiver.on(target.path)).toHaveLength(1));

      proxy.stall();
      // Claims time out on the cut connection for a while (each poll).
      await new Promise((resolve) => setTimeout(resolve, 1000));
      proxy.heal();
      await ping(target.id);
      await eventually(() => expect(receiver.on(target.path)).toHaveLength(2), {
        timeoutMs: 10_000,
      });
    } finally {
      await pump.stop();
      await proxy.close();
    }
  });
});
