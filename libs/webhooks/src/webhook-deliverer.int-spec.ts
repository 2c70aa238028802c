import { randomUUID } from 'node:crypto';
import { createTestDatabase, WebhookReceiver, type TestDatabase } from '@app/testing';
import { Registry } from 'prom-client';
import { Webhook } from 'standardwebhooks';
import { inTransaction } from './infrastructure/webhook.repository';
import {
  NO_OUTCOME_RECORDED,
  WebhookDeliverer,
  type WebhookDelivererOptions,
} from './webhook-deliverer';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhookMetrics } from './webhook-metrics';
import type { WebhookMessage } from './webhook-message';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';
import { signWebhook } from './webhook-signature';

/**
 * One attempt at a time, on a real database and a real receiver, with the clock in the test's
 * hands (BullMQ is the worker's part; see the worker's delivery tests for the timing).
 */
describe('WebhookDeliverer', () => {
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
  const metrics = new WebhookMetrics(new Registry());
  const dispatcher = new WebhookDispatcher({ defaultLeadTimes: ['P30D', 'PT0S'], clock });
  let subscriptions: WebhookSubscriptionsService;
  const retry = { baseDelayMs: 4000, maxDelayMs: 60_000, windowMs: 3_600_000 };
  const deliverer = (options: Partial<WebhookDelivererOptions> = {}) =>
    new WebhookDeliverer(db.pool, http, metrics, {
      retry,
      disableAfterFailures: 3,
      clock,
      random: () => 0.5,
      ...options,
    });

  let counter = 0;
  async function subscribe(answer?: Parameters<WebhookReceiver['handle']>[1], format = 'standard') {
    const path = `/hook-${(counter += 1)}`;
    if (answer) receiver.handle(path, answer);
    const created = await subscriptions.create({
      url: receiver.url(path),
      description: '',
      eventTypes: ['*'],
      filters: {},
      leadTimes: [],
      format: format as 'standard',
      enabled: true,
    });
    return { ...created, path };
  }

  async function dispatch(subscriptionId: string, overrides: Partial<WebhookMessage> = {}) {
    const messageKey = `alert-${randomUUID()}`;
    await inTransaction(db.pool, (client) =>
      dispatcher.dispatch(client, {
        type: 'suspension.expiring',
        messageKey,
        data: { measure: { code: 'US-IEEPA-FENTANYL' }, leadTime: 'P30D' },
        match: { parties: ['US'], leadTime: 'P30D' },
        subscriptionIds: [subscriptionId],
        ...overrides,
      }),
    );
    const { rows } = await db.pool.query(
      'SELECT * FROM webhook_deliveries WHERE subscription_id = $1 AND message_key = $2',
      [subscriptionId, messageKey],
    );
    return rows[0] as { id: string; webhook_id: string };
  }

  const deliveryRow = async (id: string) =>
    (await db.pool.query('SELECT * FROM webhook_deliveries WHERE id = $1', [id])).rows[0];
  const attemptsOf = async (id: string) =>
    (
      await db.pool.query(
        'SELECT * FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempted_at, id',
        [id],
      )
    ).rows;

  beforeAll(async () => {
    db = await createTestDatabase('webhook_deliverer');
    receiver = await WebhookReceiver.start();
    subscriptions = new WebhookSubscriptionsService(db.pool, dispatcher, guard, {
      secretGraceMs: 3_600_000,
      clock,
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

  describe('signing (Standard Webhooks)', () => {
    it('signs so that the standardwebhooks package verifies it, and only with the right secret', async () => {
      const subscription = await subscribe();
      const delivery = await dispatch(subscription.id);

      expect(await deliverer().deliver(delivery.id)).toEqual({
        kind: 'succeeded',
        statusCode: 204,
      });

      const [request] = receiver.on(subscription.path);
      expect(request.headers).toMatchObject({
        'webhook-id': delivery.webhook_id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'content-type': 'application/json',
      });
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      const body = new Webhook(subscription.secret).verify(request.body, request.headers);
      expect(body).toEqual({
        type: 'suspension.expiring',
        timestamp: now.toISOString(),
        data: { measure: { code: 'US-IEEPA-FENTANYL' }, leadTime: 'P30D' },
      });
      const otherSecret = (await subscribe()).secret;
      expect(() => new Webhook(otherSecret).verify(request.body, request.headers)).toThrow(
        'No matching signature found',
      );
      expect(() =>
        new Webhook(subscription.secret).verify(`${request.body} `, request.headers),
      ).toThrow('No matching signature found');

      expect(await deliveryRow(delivery.id)).toMatchObject({
        status: 'succeeded',
        attempts: 1,
        last_status_code: 204,
        delivered_at: now,
      });
      expect(await attemptsOf(delivery.id)).toEqual([
        expect.objectContaining({ status_code: 204, error: null, latency_ms: expect.any(Number) }),
      ]);
    });

    it('fails verification when the timestamp is old (a replayed capture)', async () => {
      const subscription = await subscribe();
      now = new Date(Date.now() - 10 * 60_000);
      const delivery = await dispatch(subscription.id);
      await deliverer().deliver(delivery.id);
      const [request] = receiver.on(subscription.path);
      expect(() => new Webhook(subscription.secret).verify(request.body, request.headers)).toThrow(
        'Message timestamp too old',
      );
    });

    it('signs with both secrets during a rotation’s grace period, then with the new one only', async () => {
      const subscription = await subscribe();
      const rotated = await subscriptions.rotateSecret(subscription.id);
      expect(rotated.secret).not.toBe(subscription.secret);
      expect(rotated.previousSecretExpiresAt).toEqual(new Date(now.getTime() + 3_600_000));

      await deliverer().deliver((await dispatch(subscription.id)).id);
      const [during] = receiver.on(subscription.path);
      expect(during.headers['webhook-signature'].split(' ')).toHaveLength(2);
      for (const secret of [rotated.secret, subscription.secret])
        expect(new Webhook(secret).verify(during.body, during.headers)).toMatchObject({
          type: 'suspension.expiring',
        });

      now = new Date(now.getTime() + 3_600_001);
      await deliverer().deliver((await dispatch(subscription.id)).id);
      const after = receiver.on(subscription.path)[1];
      expect(after.headers['webhook-signature'].split(' ')).toHaveLength(1);
      expect(after.headers['webhook-signature']).toBe(
        signWebhook(
          [rotated.secret],
          after.headers['webhook-id'],
          Number(after.headers['webhook-timestamp']),
          after.body,
        )['webhook-signature'],
      );
    });

    it('sends a CloudEvents 1.0 structured event to a subscription that asks for it', async () => {
      const subscription = await subscribe(undefined, 'cloudevents');
      const delivery = await dispatch(subscription.id);
      await deliverer().deliver(delivery.id);
      const [request] = receiver.on(subscription.path);
      expect(request.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
      expect(new Webhook(subscription.secret).verify(request.body, request.headers)).toEqual({
        specversion: '1.0',
        id: delivery.webhook_id,
        source: 'urn:accord:webhooks',
        type: 'dev.accord.suspension.expiring',
        time: now.toISOString(),
        datacontenttype: 'application/json',
        data: { measure: { code: 'US-IEEPA-FENTANYL' }, leadTime: 'P30D' },
      });
    });
  });

  describe('failures', () => {
    it('schedules a retry after a 500, logs the attempt with a capped body, and succeeds later', async () => {
      const subscription = await subscribe((_request, n) =>
        n === 0 ? { status: 500, body: 'x'.repeat(1000) } : { status: 200 },
      );
      const delivery = await dispatch(subscription.id);

      const first = await deliverer().deliver(delivery.id);
      expect(first).toEqual({
        kind: 'retry',
        at: new Date(now.getTime() + 3000),
        reason: `HTTP 500: ${'x'.repeat(64)}`,
      });
      expect(await deliveryRow(delivery.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        next_attempt_at: new Date(now.getTime() + 3000),
        last_status_code: 500,
      });
      expect((await attemptsOf(delivery.id))[0].response_body).toBe('x'.repeat(64));

      // Not due yet: a job that fires early is sent back to wait, nothing is sent.
      expect(await deliverer().deliver(delivery.id)).toEqual({
        kind: 'early',
        at: new Date(now.getTime() + 3000),
      });
      now = new Date(now.getTime() + 3000);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({ kind: 'succeeded' });
      expect(await deliverer().deliver(delivery.id)).toEqual({
        kind: 'fenced',
        status: 'succeeded',
      });
      const requests = receiver.on(subscription.path);
      expect(requests).toHaveLength(2);
      expect(new Set(requests.map((request) => request.headers['webhook-id']))).toEqual(
        new Set([delivery.webhook_id]),
      );
    });

    it('stores a response body holding NUL bytes, which PostgreSQL text refuses, as U+FFFD', async () => {
      const subscription = await subscribe((_request, n) =>
        n === 0 ? { status: 500, body: 'bad\0body' } : { status: 200, body: '\0ok' },
      );
      const delivery = await dispatch(subscription.id);

      expect(await deliverer().deliver(delivery.id)).toMatchObject({
        kind: 'retry',
        reason: 'HTTP 500: bad\uFFFDbody',
      });
      now = new Date(now.getTime() + 3000);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({ kind: 'succeeded' });
      expect((await attemptsOf(delivery.id)).map((attempt) => attempt.response_body)).toEqual([
        'bad\uFFFDbody',
        '\uFFFDok',
      ]);
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    });

    it('honours Retry-After on a 429', async () => {
      const subscription = await subscribe(() => ({
        status: 429,
        headers: { 'retry-after': '42' },
      }));
      const delivery = await dispatch(subscription.id);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({
        kind: 'retry',
        at: new Date(now.getTime() + 42_000),
      });
    });

    it('compresses retries to land before a deadline', async () => {
      const subscription = await subscribe(() => ({ status: 503 }));
      const delivery = await dispatch(subscription.id, {
        deadline: new Date(now.getTime() + 60_000),
      });
      const fast = deliverer({ retry: { ...retry, baseDelayMs: 600_000, maxDelayMs: 3_600_000 } });
      expect(await fast.deliver(delivery.id)).toMatchObject({
        kind: 'retry',
        at: new Date(now.getTime() + 30_000),
      });
    });

    it('disables the subscription on a 410 and stops delivering to it', async () => {
      const subscription = await subscribe(() => ({ status: 410 }));
      const gone = await dispatch(subscription.id);
      const queued = await dispatch(subscription.id);

      expect(await deliverer().deliver(gone.id)).toMatchObject({ kind: 'failed' });
      expect(await subscriptions.get(subscription.id)).toMatchObject({
        enabled: false,
        disabledReason: expect.stringContaining('410 Gone'),
        disabledAt: now,
      });
      expect(await deliverer().deliver(queued.id)).toMatchObject({
        kind: 'failed',
        reason: expect.stringContaining('disabled'),
      });
      expect(await deliveryRow(queued.id)).toMatchObject({ status: 'failed', attempts: 0 });
      expect(receiver.on(subscription.path)).toHaveLength(1);
    });

    it('disables after a run of consecutive failures, visibly; re-enabling replays what it missed', async () => {
      let healthy = false;
      const subscription = await subscribe(() => ({ status: healthy ? 200 : 502 }));
      const deliveries = [];
      for (let i = 0; i < 3; i += 1) deliveries.push(await dispatch(subscription.id));
      for (const delivery of deliveries) await deliverer().deliver(delivery.id);
      expect(await subscriptions.get(subscription.id)).toMatchObject({
        enabled: false,
        consecutiveFailures: 3,
        disabledReason: expect.stringMatching(/^Disabled after 3 consecutive failed attempts/),
        // Disabling changed what it is: a client holding version 1 must read it again.
        version: subscription.version + 1,
      });
      // Missed while disabled: recorded, not sent.
      const missed = await dispatch(subscription.id);
      expect(await deliveryRow(missed.id)).toMatchObject({ status: 'failed', attempts: 0 });
      // The pending retries find the subscription disabled when they come due: not sent, and
      // the log still says why their attempts failed.
      now = new Date(now.getTime() + 60_000);
      for (const delivery of deliveries) await deliverer().deliver(delivery.id);
      expect(await deliveryRow(deliveries[2].id)).toMatchObject({
        status: 'failed',
        attempts: 1,
        last_error: 'HTTP 502',
      });
      expect(await deliveryRow(missed.id)).toMatchObject({
        last_error: expect.stringMatching(/^Not sent/),
      });

      healthy = true;
      const enabled = await subscriptions.update(subscription.id, { enabled: true });
      expect(enabled).toMatchObject({
        enabled: true,
        consecutiveFailures: 0,
        disabledReason: null,
      });
      for (const delivery of [...deliveries, missed]) {
        expect(await deliveryRow(delivery.id)).toMatchObject({ status: 'pending' });
        expect(await deliverer().deliver(delivery.id)).toMatchObject({ kind: 'succeeded' });
      }
      const ids = receiver
        .on(subscription.path)
        .filter((request) => request.headers['webhook-id'] === missed.webhook_id);
      expect(ids).toHaveLength(1);
    });

    it('gives up after the retry window', async () => {
      const subscription = await subscribe(() => ({ status: 500 }));
      const delivery = await dispatch(subscription.id);
      now = new Date(now.getTime() + retry.windowMs);
      expect(await deliverer({ disableAfterFailures: 100 }).deliver(delivery.id)).toMatchObject({
        kind: 'failed',
        reason: expect.stringMatching(/^Retries exhausted; last: HTTP 500/),
      });
    });

    it('does not follow a redirect', async () => {
      const target = await subscribe();
      const subscription = await subscribe(() => ({
        status: 307,
        headers: { location: receiver.url(target.path) },
      }));
      const delivery = await dispatch(subscription.id);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({
        kind: 'retry',
        reason: 'HTTP 307',
      });
      expect(receiver.on(target.path)).toEqual([]);
    });

    it('still delivers to a URL stored with a fragment before fragments were refused', async () => {
      const subscription = await subscribe(() => ({ status: 204 }));
      await db.pool.query('UPDATE webhook_subscriptions SET url = url || $2 WHERE id = $1', [
        subscription.id,
        '#team-a',
      ]);
      const delivery = await dispatch(subscription.id);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({ kind: 'succeeded' });
      expect(receiver.on(subscription.path)).toHaveLength(1);
    });

    it('records a network error as a failed attempt', async () => {
      const subscription = await subscribe();
      await db.pool.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [
        subscription.id,
        'http://127.0.0.1:9/closed',
      ]);
      const delivery = await dispatch(subscription.id);
      expect(await deliverer().deliver(delivery.id)).toMatchObject({ kind: 'retry' });
      expect((await attemptsOf(delivery.id))[0]).toMatchObject({
        status_code: null,
        error: expect.stringContaining('ECONNREFUSED'),
      });
    });
  });

  describe('a lease left behind', () => {
    const leaseMs = 30_000;
    /** What a worker that claimed a delivery and died leaves: a lease nobody will end. */
    async function leaseLeft(deliveryId: string): Promise<string> {
      const claim = randomUUID();
      await db.pool.query(
        'UPDATE webhook_deliveries SET claimed_by = $2, claimed_until = $3 WHERE id = $1',
        [deliveryId, claim, new Date(now.getTime() + leaseMs)],
      );
      return claim;
    }

    it('is waited out, then logged as an attempt without an outcome that counts but is no failure', async () => {
      const subscription = await subscribe();
      const delivery = await dispatch(subscription.id);
      const leasedAt = now;
      await leaseLeft(delivery.id);
      expect(await deliverer({ leaseMs }).deliver(delivery.id)).toEqual({
        kind: 'early',
        at: new Date(leasedAt.getTime() + leaseMs),
      });

      now = new Date(leasedAt.getTime() + leaseMs);
      expect(await deliverer({ leaseMs }).deliver(delivery.id)).toMatchObject({
        kind: 'succeeded',
      });
      expect(await attemptsOf(delivery.id)).toEqual([
        expect.objectContaining({
          attempted_at: leasedAt,
          status_code: null,
          latency_ms: leaseMs,
          error: NO_OUTCOME_RECORDED,
          response_body: null,
        }),
        expect.objectContaining({ status_code: 204, error: null }),
      ]);
      expect(await deliveryRow(delivery.id)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        last_error: null,
        claimed_by: null,
      });
      expect(receiver.on(subscription.path)).toHaveLength(1);
      const { rows } = await db.pool.query(
        'SELECT consecutive_failures FROM webhook_subscriptions WHERE id = $1',
        [subscription.id],
      );
      expect(rows[0].consecutive_failures).toBe(0);
    });

    it('given back (release) by the claim that took it, is claimable at once and logs nothing', async () => {
      const subscription = await subscribe();
      const delivery = await dispatch(subscription.id);
      const claim = await leaseLeft(delivery.id);
      // Another claim's word does not count.
      await deliverer({ leaseMs }).release([{ id: delivery.id, claimed_by: randomUUID() }]);
      expect(await deliverer({ leaseMs }).deliver(delivery.id)).toMatchObject({ kind: 'early' });

      await deliverer({ leaseMs }).release([{ id: delivery.id, claimed_by: claim }]);
      expect(await deliverer({ leaseMs }).deliver(delivery.id)).toMatchObject({
        kind: 'succeeded',
      });
      expect(await attemptsOf(delivery.id)).toEqual([
        expect.objectContaining({ status_code: 204, error: null }),
      ]);
      expect(await deliveryRow(delivery.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
    });
  });
});
