import { randomUUID } from 'node:crypto';
import { createTestDatabase, WebhookReceiver, type TestDatabase } from '@app/testing';
import { Registry } from 'prom-client';
import { inTransaction } from './infrastructure/webhook.repository';
import { WebhookDeliverer } from './webhook-deliverer';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhookMetrics } from './webhook-metrics';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';

/**
 * A receiver's `Retry-After` through the real deliverer: a lower bound on the wait, never a way
 * around the backoff (a 429 with `Retry-After: 0` used to be retried at once, and the run of
 * failures disabled the subscription within a second).
 */
describe('Retry-After on a real delivery', () => {
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  let now: Date;
  const clock = () => now;
  const guard = new WebhookUrlGuard({ allowPrivateNetworks: true });
  const http = new WebhookHttpClient(guard, {
    connectTimeoutMs: 2000,
    timeoutMs: 3000,
    maxResponseBytes: 64,
  });
  const dispatcher = new WebhookDispatcher({ defaultLeadTimes: ['PT0S'], clock });
  let subscriptions: WebhookSubscriptionsService;
  let deliverer: WebhookDeliverer;
  // The first retry waits 2–4 s; with the jitter pinned at the middle, 3 s.
  const retry = { baseDelayMs: 4000, maxDelayMs: 60_000, windowMs: 3_600_000 };

  beforeAll(async () => {
    db = await createTestDatabase('webhook_retry_after');
    receiver = await WebhookReceiver.start();
    subscriptions = new WebhookSubscriptionsService(db.pool, dispatcher, guard, {
      secretGraceMs: 3_600_000,
      clock,
    });
    deliverer = new WebhookDeliverer(db.pool, http, new WebhookMetrics(new Registry()), {
      retry,
      disableAfterFailures: 3,
      clock,
      random: () => 0.5,
    });
  });
  beforeEach(() => {
    now = new Date();
  });
  afterAll(async () => {
    await http.close();
    await receiver.close();
    await db.drop();
  });

  async function deliveryAnswering(retryAfter: () => string) {
    const path = `/retry-after-${randomUUID()}`;
    receiver.handle(path, () => ({ status: 429, headers: { 'retry-after': retryAfter() } }));
    const subscription = await subscriptions.create({
      url: receiver.url(path),
      description: '',
      eventTypes: ['*'],
      filters: {},
      leadTimes: [],
      format: 'standard',
      enabled: true,
    });
    const messageKey = `ping:${randomUUID()}`;
    await inTransaction(db.pool, (client) =>
      dispatcher.dispatch(client, {
        type: 'ping',
        messageKey,
        data: { message: 'retry-after' },
        match: { parties: [] },
        subscriptionIds: [subscription.id],
      }),
    );
    const { rows } = await db.pool.query<{ id: string }>(
      'SELECT id FROM webhook_deliveries WHERE message_key = $1',
      [messageKey],
    );
    return { subscriptionId: subscription.id, deliveryId: rows[0].id };
  }

  it.each([
    ['0', () => '0'],
    ['an HTTP-date already past', () => new Date(now.getTime() - 60_000).toUTCString()],
  ])(
    'waits the backoff when Retry-After is %s, and backs off further each time',
    async (_, value) => {
      const { subscriptionId, deliveryId } = await deliveryAnswering(value);
      expect(await deliverer.deliver(deliveryId)).toMatchObject({
        kind: 'retry',
        at: new Date(now.getTime() + 3000),
      });
      now = new Date(now.getTime() + 3000);
      expect(await deliverer.deliver(deliveryId)).toMatchObject({
        kind: 'retry',
        at: new Date(now.getTime() + 6000),
      });
      expect(await subscriptions.get(subscriptionId)).toMatchObject({
        enabled: true,
        consecutiveFailures: 2,
      });
    },
  );

  it('still waits a Retry-After longer than the backoff', async () => {
    const { deliveryId } = await deliveryAnswering(() => '42');
    expect(await deliverer.deliver(deliveryId)).toMatchObject({
      kind: 'retry',
      at: new Date(now.getTime() + 42_000),
    });
  });
});
