import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  WebhookReceiver,
  type TestDatabase,
} from '@app/testing';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';
import { startWorker, type WorkerProcess } from './support/worker-process';
import { agreementBody, source, suffix, usTariffBody } from './support/write-api';

/** The body of a `measure.status-changed` delivery, as far as these tests read it. */
interface StatusChange {
  data: {
    previousStatus: string | null;
    status: string;
    asOf: string;
    cause: { type: string };
    measure: { code: string };
  };
}

const PROBLEM_JSON = /^application\/problem\+json/;
const BASE = '/api/v1/webhook-subscriptions';

/**
 * Webhook subscriptions over HTTP with the real api and the real worker (relay, BullMQ,
 * processor) in one process, delivering to a receiver on loopback.
 */
describe('Webhook subscriptions, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let receiver: WebhookReceiver;
  const http = () => app.http();
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let counter = 0;

  async function subscribe(fields: Record<string, unknown> = {}) {
    const path = `/e2e-${(counter += 1)}`;
    const response = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url(path), eventTypes: ['suspension.*', 'ping'], ...fields });
    expect(response.status).toBe(201);
    // Where the new subscription lives: it answers GET.
    expect(response.headers.location).toBe(`${BASE}/${response.body.id}`);
    return { ...(response.body as { id: string; secret: string; url: string }), path };
  }

  /** What a subscription received, each body verified as Standard Webhooks: status changes. */
  function statusChangesOf(subscription: { path: string; secret: string }): StatusChange[] {
    return receiver
      .on(subscription.path)
      .map(
        (request) =>
          new Webhook(subscription.secret).verify(request.body, request.headers) as StatusChange,
      );
  }

  async function ping(id: string) {
    const response = await http().post(`${BASE}/${id}/test`).set(asAdmin).expect(202);
    return response.body as { deliveryId: string; webhookId: string };
  }

  const deliveryLog = async (id: string) =>
    (await http().get(`${BASE}/${id}/deliveries`).set(asAdmin).expect(200)).body;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await startApiAndWorker('e2e_webhooks', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '200',
      SUBSCRIPTION_POLL_MS: '200',
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  it('shows the secret once, at creation; lists and reads never carry it', async () => {
    const created = await subscribe({
      description: 'Compliance desk',
      filters: { parties: ['cn'], measureKinds: ['tariff'] },
      leadTimes: ['P14D', 'PT0S'],
    });
    expect(created).toMatchObject({
      id: expect.any(String),
      url: receiver.url(created.path),
      description: 'Compliance desk',
      eventTypes: ['suspension.*', 'ping'],
      filters: { parties: ['CN'], measureKinds: ['tariff'] },
      leadTimes: ['P14D', 'PT0S'],
      format: 'standard',
      enabled: true,
      disabledReason: null,
      consecutiveFailures: 0,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(created.secret.slice(6), 'base64')).toHaveLength(32);

    const list = await http().get(BASE).set(asAdmin).expect(200);
    expect(list.body.items.map((item: { id: string }) => item.id)).toContain(created.id);
    const one = await http().get(`${BASE}/${created.id}`).set(asAdmin).expect(200);
    for (const text of [list.text, one.text]) {
      expect(text).not.toContain(created.secret.slice(6));
      expect(text).not.toContain('"secret"');
    }
  });

  it('versions a subscription: writes take If-Match and refuse a stale one with 412', async () => {
    const created = await subscribe();
    const path = `${BASE}/${created.id}`;
    const read = await http().get(path).set(asAdmin).expect(200);
    expect({ etag: read.headers.etag, version: read.body.version }).toEqual({
      etag: '"1"',
      version: 1,
    });

    const renamed = await http()
      .patch(path)
      .set(asAdmin)
      .set('if-match', '"1"')
      .send({ description: 'first' });
    expect({ status: renamed.status, etag: renamed.headers.etag }).toEqual({
      status: 200,
      etag: '"2"',
    });
    // A client that read version 1 changes nothing now.
    const stale = await http()
      .patch(path)
      .set(asAdmin)
      .set('if-match', '"1"')
      .send({ description: 'second', enabled: false });
    expect(stale.status).toBe(412);
    expect(stale.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(stale.body).toMatchObject({ code: 'precondition-failed', currentVersion: 2 });
    const rotateStale = await http()
      .post(`${path}/rotate-secret`)
      .set(asAdmin)
      .set('if-match', '"1"');
    expect(rotateStale.status).toBe(412);
    await http().delete(path).set(asAdmin).set('if-match', '"1"').expect(412);
    const unchanged = await http().get(path).set(asAdmin).expect(200);
    expect(unchanged.body).toMatchObject({ description: 'first', enabled: true, version: 2 });
    expect(unchanged.body.previousSecretExpiresAt).toBeNull();

    await http().patch(path).set(asAdmin).set('if-match', 'nope').send({}).expect(400);
    const rotated = await http()
      .post(`${path}/rotate-secret`)
      .set(asAdmin)
      .set('if-match', '"1", "2"');
    expect({ status: rotated.status, etag: rotated.headers.etag }).toEqual({
      status: 200,
      etag: '"3"',
    });
    // Without If-Match a write is unconditional, as before.
    await http().patch(path).set(asAdmin).send({ description: 'third' }).expect(200);
    await http().delete(path).set(asAdmin).set('if-match', '"4"').expect(204);
    await http().get(path).set(asAdmin).expect(404);
  });

  it('answers a PATCH that changes nothing as the subscription is, its version and ETag kept', async () => {
    const created = await subscribe({
      description: 'kept',
      filters: { parties: ['CN'], measureKinds: ['tariff'] },
      leadTimes: ['P7D', 'PT0S'],
    });
    const path = `${BASE}/${created.id}`;
    const before = await http().get(path).set(asAdmin).expect(200);
    const { url, description, eventTypes, format, enabled } = before.body;
    const unchanged = [
      {},
      { description },
      // Every value as it is, filters in another key order and a lead time spelled otherwise.
      {
        url,
        description,
        eventTypes,
        filters: { measureKinds: ['Tariff'], parties: ['cn'] },
        leadTimes: ['P1W', 'PT0S'],
        format,
        enabled,
      },
    ];
    for (const body of unchanged) {
      const answer = await http().patch(path).set(asAdmin).set('if-match', '"1"').send(body);
      expect({ status: answer.status, etag: answer.headers.etag, body: answer.body }).toEqual({
        status: 200,
        etag: '"1"',
        body: before.body,
      });
    }
    // If-Match is still a precondition, and a retry with a key answers as the first did.
    const stale = await http().patch(path).set(asAdmin).set('if-match', '"7"').send({});
    expect(stale.status).toBe(412);
    const key = `noop-${randomBytes(8).toString('hex')}`;
    for (let i = 0; i < 2; i += 1) {
      const keyed = await http().patch(path).set(asAdmin).set('idempotency-key', key).send({});
      expect({ status: keyed.status, etag: keyed.headers.etag }).toEqual({
        status: 200,
        etag: '"1"',
      });
    }
    const after = await http().get(path).set(asAdmin).expect(200);
    expect(after.body).toEqual(before.body);
    expect(after.headers.etag).toBe('"1"');

    // A real change still counts.
    const renamed = await http().patch(path).set(asAdmin).send({ description: 'renamed' });
    expect({ status: renamed.status, etag: renamed.headers.etag }).toEqual({
      status: 200,
      etag: '"2"',
    });
  });

  it('creates once per Idempotency-Key: a retry answers with the first subscription', async () => {
    const key = `create-${randomBytes(8).toString('hex')}`;
    const body = { url: receiver.url('/idempotent'), eventTypes: ['ping'] };
    const create = (sent: object, idempotencyKey = key) =>
      http().post(BASE).set(asAdmin).set('idempotency-key', idempotencyKey).send(sent);

    const first = await create(body);
    const retry = await create(body);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(retry.headers.location).toBe(`${BASE}/${first.body.id}`);
    const all = await http().get(BASE).query({ limit: 200 }).set(asAdmin).expect(200);
    const made = (all.body.items as Array<{ url: string }>).filter((item) => item.url === body.url);
    expect(made).toHaveLength(1);

    const reused = await create({ ...body, description: 'another request' });
    expect(reused.status).toBe(422);
    expect(reused.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(reused.body.code).toBe('idempotency-key-reused');
    // Another key is another subscription.
    const other = await create(body, `${key}-2`);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
  });

  it('pages the list with a cursor', async () => {
    for (let i = 0; i < 3; i += 1) await subscribe();
    const first = await http().get(BASE).query({ limit: 2 }).set(asAdmin).expect(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await http()
      .get(BASE)
      .query({ limit: 2, cursor: first.body.nextCursor })
      .set(asAdmin)
      .expect(200);
    const ids = [...first.body.items, ...second.body.items].map((item: { id: string }) => item.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('refuses bad input, other roles and unknown ids with problems', async () => {
    const refused = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: 'ftp://example.com/hook', eventTypes: ['ping'] });
    expect(refused.status).toBe(422);
    expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(refused.body.code).toBe('webhook-url-refused');

    const invalid = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url('/x'), eventTypes: ['suspension.exploded'], leadTimes: ['soon'] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'eventTypes.0',
      'leadTimes.0',
    ]);

    // Lead times the schedule could not plan (a fire time before year 1, or not the domain's
    // ISO 8601 form) and groups that match nothing are refused, not accepted and ignored.
    const unschedulable = await http()
      .post(BASE)
      .set(asAdmin)
      .send({
        url: receiver.url('/x'),
        eventTypes: ['suspension.expiring', 'ping.*'],
        leadTimes: ['P999999999Y', 'P11Y', 'P1.5D', 'PT', 'P', 'P10Y'],
      });
    expect(unschedulable.status).toBe(400);
    expect(unschedulable.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'eventTypes.1',
      'leadTimes.0',
      'leadTimes.1',
      'leadTimes.2',
      'leadTimes.3',
      'leadTimes.4',
    ]);

    // A host that does not resolve is a mistake to report now (not a 500).
    const unresolvable = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: 'http://nonexistent.invalid/hooks', eventTypes: ['ping'] });
    expect(unresolvable.status).toBe(422);
    expect(unresolvable.body).toMatchObject({
      code: 'webhook-url-refused',
      errors: [{ field: 'url', message: expect.stringContaining('could not be resolved') }],
    });

    const viewer = await http()
      .post('/api/v1/api-keys')
      .set(asAdmin)
      .send({ name: `viewer-${counter}`, role: 'viewer' })
      .expect(201);
    await http()
      .get(BASE)
      .set({ authorization: `Bearer ${viewer.body.key}` })
      .expect(403);
    const missing = await http().get(`${BASE}/6f1c2a4e-0a7b-4c1e-9d55-7c0f3e2b1a90`).set(asAdmin);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('webhook-subscription-not-found');
    // Not found comes first, whatever the change would have been.
    const patchMissing = await http()
      .patch(`${BASE}/6f1c2a4e-0a7b-4c1e-9d55-7c0f3e2b1a90`)
      .set(asAdmin)
      .send({ url: 'ftp://example.com/hook' });
    expect(patchMissing.status).toBe(404);
    expect(patchMissing.body.code).toBe('webhook-subscription-not-found');
  });

  it('refuses internal addresses at creation and on change when private networks are not allowed', async () => {
    const subscription = await subscribe();
    process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'false';
    const strict = await createApi();
    try {
      await strict.init();
      await strict.getHttpAdapter().getInstance().ready();
      for (const url of [
        'http://127.0.0.1/hook',
        'http://10.0.0.1/hook',
        'http://169.254.169.254/latest/meta-data/',
        'http://[::1]/hook',
        'http://[::ffff:127.0.0.1]/hook',
        'http://localhost/hook',
      ]) {
        const response = await request(strict.getHttpServer())
          .post(BASE)
          .set(asAdmin)
          .send({ url, eventTypes: ['ping'] });
        expect({ url, status: response.status, code: response.body.code }).toEqual({
          url,
          status: 422,
          code: 'webhook-url-refused',
        });
      }
      const patched = await request(strict.getHttpServer())
        .patch(`${BASE}/${subscription.id}`)
        .set(asAdmin)
        .send({ url: 'http://169.254.169.254/' });
      expect(patched.status).toBe(422);
    } finally {
      await strict.close();
      process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'true';
    }
  });

  it('sends a signed ping now, logs it, and retries it by hand with the same webhook-id', async () => {
    const subscription = await subscribe();
    const { deliveryId, webhookId } = await ping(subscription.id);
    expect(webhookId).toMatch(/^msg_/);

    const request = await eventually(() => {
      expect(receiver.on(subscription.path)).toHaveLength(1);
      return receiver.on(subscription.path)[0];
    });
    expect(request.headers['webhook-id']).toBe(webhookId);
    expect(new Webhook(subscription.secret).verify(request.body, request.headers)).toMatchObject({
      type: 'ping',
      timestamp: expect.any(String),
      data: { subscriptionId: subscription.id },
    });

    const log = await eventually(async () => {
      const body = await deliveryLog(subscription.id);
      expect(body.items[0]).toMatchObject({ id: deliveryId, status: 'succeeded' });
      return body;
    });
    expect(log.items[0]).toMatchObject({
      webhookId,
      eventType: 'ping',
      attemptCount: 1,
      lastStatusCode: 204,
      deliveredAt: expect.any(String),
      attempts: [
        {
          attemptedAt: expect.any(String),
          statusCode: 204,
          latencyMs: expect.any(Number),
          error: null,
        },
      ],
    });

    const retried = await http()
      .post(`${BASE}/${subscription.id}/deliveries/${deliveryId}/retry`)
      .set(asAdmin)
      .expect(202);
    expect(retried.body).toMatchObject({ id: deliveryId, status: 'pending' });
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(2));
    expect(receiver.on(subscription.path)[1].headers['webhook-id']).toBe(webhookId);
    await eventually(async () =>
      expect((await deliveryLog(subscription.id)).items[0]).toMatchObject({
        status: 'succeeded',
        attemptCount: 2,
        attempts: [expect.anything(), expect.anything()],
      }),
    );
  });

  it('shows failed attempts with their status and error', async () => {
    const subscription = await subscribe();
    receiver.handle(subscription.path, (_request, n) =>
      n === 0 ? { status: 503, body: 'down for maintenance' } : { status: 200 },
    );
    await ping(subscription.id);
    const log = await eventually(async () => {
      const body = await deliveryLog(subscription.id);
      expect(body.items[0]).toMatchObject({ status: 'succeeded', attemptCount: 2 });
      return body;
    });
    expect(log.items[0].attempts).toEqual([
      expect.objectContaining({ statusCode: 503, error: 'HTTP 503: down for maintenance' }),
      expect.objectContaining({ statusCode: 200, error: null }),
    ]);
  });

  it('replays a window with the same webhook-ids', async () => {
    const subscription = await subscribe();
    const since = new Date().toISOString();
    const first = await ping(subscription.id);
    const second = await ping(subscription.id);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(2));
    await eventually(async () =>
      expect(
        (await deliveryLog(subscription.id)).items.map((d: { status: string }) => d.status),
      ).toEqual(['succeeded', 'succeeded']),
    );

    const replay = await http()
      .post(`${BASE}/${subscription.id}/replay`)
      .query({ since, until: new Date(Date.now() + 1000).toISOString() })
      .set(asAdmin)
      .expect(202);
    expect(replay.body).toEqual({ replayed: 2 });
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(4));
    const ids = receiver.on(subscription.path).map((request) => request.headers['webhook-id']);
    expect(ids.slice(2).sort()).toEqual([first.webhookId, second.webhookId].sort());

    const bad = await http()
      .post(`${BASE}/${subscription.id}/replay`)
      .query({ since: 'yesterday' })
      .set(asAdmin);
    expect(bad.status).toBe(400);
  });

  it('rotates the secret: shown once, and both secrets sign during the grace period', async () => {
    const subscription = await subscribe();
    const rotated = await http()
      .post(`${BASE}/${subscription.id}/rotate-secret`)
      .set(asAdmin)
      .expect(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(subscription.secret);
    expect(rotated.body.previousSecretExpiresAt).toEqual(expect.any(String));
    const read = await http().get(`${BASE}/${subscription.id}`).set(asAdmin).expect(200);
    expect(read.text).not.toContain(rotated.body.secret.slice(6));

    await ping(subscription.id);
    const request = await eventually(() => {
      expect(receiver.on(subscription.path)).toHaveLength(1);
      return receiver.on(subscription.path)[0];
    });
    expect(request.headers['webhook-signature'].split(' ')).toHaveLength(2);
    for (const secret of [subscription.secret, rotated.body.secret])
      expect(() => new Webhook(secret).verify(request.body, request.headers)).not.toThrow();
  });

  it('disables, refuses a test, a retry and a replay while disabled, re-enables, and deletes', async () => {
    const subscription = await subscribe();
    await ping(subscription.id);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(1));
    const disabled = await http()
      .patch(`${BASE}/${subscription.id}`)
      .set(asAdmin)
      .send({ enabled: false, description: 'paused' })
      .expect(200);
    expect(disabled.body).toMatchObject({
      enabled: false,
      description: 'paused',
      disabledReason: 'Disabled through the API',
    });
    // Nothing can be sent while disabled: a test, a retry and a replay are refused alike.
    const refused = await http().post(`${BASE}/${subscription.id}/test`).set(asAdmin);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'webhook-subscription-disabled',
      title: 'Webhook subscription disabled',
    });
    const [sent] = (await deliveryLog(subscription.id)).items as Array<{ id: string }>;
    const retry = await http()
      .post(`${BASE}/${subscription.id}/deliveries/${sent.id}/retry`)
      .set(asAdmin);
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({
      code: 'webhook-subscription-disabled',
      title: 'Webhook subscription disabled',
    });
    const replay = await http()
      .post(`${BASE}/${subscription.id}/replay`)
      .query({ since: '2020-01-01T00:00:00Z' })
      .set(asAdmin);
    expect(replay.status).toBe(409);
    expect(replay.body).toMatchObject({
      code: 'webhook-subscription-disabled',
      title: 'Webhook subscription disabled',
    });

    const enabled = await http()
      .patch(`${BASE}/${subscription.id}`)
      .set(asAdmin)
      .send({ enabled: true })
      .expect(200);
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
    await ping(subscription.id);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(2));

    await http().delete(`${BASE}/${subscription.id}`).set(asAdmin).expect(204);
    await http().get(`${BASE}/${subscription.id}`).set(asAdmin).expect(404);
    await http().delete(`${BASE}/${subscription.id}`).set(asAdmin).expect(404);
  });

  it('says why a subscription created disabled is disabled', async () => {
    const created = await subscribe({ enabled: false });
    const read = await http().get(`${BASE}/${created.id}`).set(asAdmin).expect(200);
    expect(read.body).toMatchObject({
      enabled: false,
      disabledAt: expect.any(String),
      disabledReason: 'Created disabled through the API',
    });
  });

  it('sends measure.status-changed and agreement.recorded for committed events, filtered', async () => {
    const subscription = await subscribe({
      eventTypes: ['measure.status-changed', 'agreement.recorded'],
      filters: { parties: ['CN'] },
    });
    const elsewhere = await subscribe({ eventTypes: ['*'], filters: { parties: ['JP'] } });
    const code = `E2E-WH-${suffix()}`;
    const measure = await http()
      .post('/api/v1/measures')
      .set(asAdmin)
      .send(usTariffBody(code))
      .expect(201);
    await http()
      .post(`/api/v1/measures/${code}/suspensions`)
      .set(asAdmin)
      .send({
        startsAt: '2025-05-14T04:01:00Z',
        duration: 'P90D',
        part: { percentPoints: 24 },
        sources: [source('Suspension notice')],
      })
      .expect(201);
    await http()
      .post('/api/v1/agreements')
      .set(asAdmin)
      .send(agreementBody(`E2E-AG-${suffix()}`))
      .expect(201);

    const bodies = await eventually(
      () => {
        const received = receiver
          .on(subscription.path)
          .map((request) => new Webhook(subscription.secret).verify(request.body, request.headers));
        expect(received).toHaveLength(4);
        return received as { type: string; data: Record<string, unknown> & { measure: object } }[];
      },
      { timeoutMs: 15_000 },
    );
    // Deliveries run concurrently, so they arrive in any order: sort by effective instant.
    const changes = bodies
      .filter((body) => body.type === 'measure.status-changed')
      .sort((a, b) => String(a.data.asOf).localeCompare(String(b.data.asOf)));
    expect(changes.map((body) => [body.data.previousStatus, body.data.status])).toEqual(
      [
        [null, 'announced'],
        ['announced', 'in-force'],
        ['in-force', 'partially-suspended'],
      ].slice(0, changes.length),
    );
    expect(changes[0].data.measure).toMatchObject({
      id: measure.body.id,
      code,
      kind: 'tariff',
      parties: ['US', 'CN'],
      timeZone: 'America/New_York',
    });
    expect(bodies.filter((body) => body.type === 'agreement.recorded')).toHaveLength(1);
    expect(receiver.on(elsewhere.path)).toEqual([]);
  });

  it('sends measure.status-changed when a suspension lapses and its points come back', async () => {
    const code = `E2E-LAPSE-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { measures: [code] },
    });
    await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201);
    // Started in the past, ending in two seconds: the worker records the lapse at its end.
    const endsAt = new Date(Date.now() + 2000).toISOString();
    await http()
      .post(`/api/v1/measures/${code}/suspensions`)
      .set(asAdmin)
      .send({
        startsAt: '2025-05-14T04:01:00Z',
        endsAt,
        part: { percentPoints: 24 },
        sources: [source('Suspension notice')],
      })
      .expect(201);

    const lapse = await eventually(
      () => {
        const changes = statusChangesOf(subscription);
        const found = changes.find((change) => change.data.cause.type === 'SuspensionLapsed');
        expect(found).toBeDefined();
        return found!;
      },
      { timeoutMs: 20_000 },
    );
    expect(lapse.data).toMatchObject({
      previousStatus: 'partially-suspended',
      status: 'in-force',
      asOf: endsAt,
      cause: { type: 'SuspensionLapsed' },
    });
  });

  it('tells once of suspensions that lapse together: one change, not one per lapse', async () => {
    const code = `E2E-LAPSE2-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { measures: [code] },
    });
    await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201);
    const endsAt = new Date(Date.now() + 2000).toISOString();
    for (const percentPoints of [10, 14])
      await http()
        .post(`/api/v1/measures/${code}/suspensions`)
        .set(asAdmin)
        .send({
          startsAt: '2025-05-14T04:01:00Z',
          endsAt,
          part: { percentPoints },
          sources: [source('Suspension notice')],
        })
        .expect(201);

    await eventually(
      async () => {
        const history = await http().get(`/api/v1/measures/${code}/events`).set(asAdmin);
        const lapses = (history.body.items as { type: string }[]).filter(
          (event) => event.type === 'SuspensionLapsed',
        );
        expect(lapses).toHaveLength(2);
      },
      { timeoutMs: 20_000 },
    );
    const lapseChanges = () =>
      statusChangesOf(subscription).filter(
        (change) => change.data.cause.type === 'SuspensionLapsed',
      );
    await eventually(() => expect(lapseChanges()).toHaveLength(1), { timeoutMs: 15_000 });
    // Both lapses have been through the publisher by the time the later one's change would be
    // sent: give it that long, then count again.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(
      lapseChanges().map((change) => [change.data.previousStatus, change.data.status]),
    ).toEqual([['partially-suspended', 'in-force']]);
  });

  it('counts a territory the scope includes among the parties a filter matches', async () => {
    const macao = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { parties: ['MO'] },
    });
    const code = `E2E-MO-${suffix()}`;
    const body = usTariffBody(code, {
      scope: { description: 'All products of China and of Macao', inclusions: ['MO'] },
    });
    await http().post('/api/v1/measures').set(asAdmin).send(body).expect(201);

    const received = await eventually(
      () => {
        const changes = receiver.on(macao.path).map(
          (request) =>
            new Webhook(macao.secret).verify(request.body, request.headers) as {
              data: { measure: { code: string } };
            },
        );
        expect(changes.length).toBeGreaterThanOrEqual(2);
        return changes;
      },
      { timeoutMs: 15_000 },
    );
    expect(new Set(received.map((change) => change.data.measure.code))).toEqual(new Set([code]));
  });

  it('matches a territory through the scope in force when the status changes, not any scope', async () => {
    const macao = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { parties: ['MO'] },
    });
    const china = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { parties: ['CN'] },
    });
    const code = `E2E-MO-OUT-${suffix()}`;
    const body = usTariffBody(code, {
      scope: { description: 'All products of China and of Macao', inclusions: ['MO'] },
    });
    const created = await http().post('/api/v1/measures').set(asAdmin).send(body).expect(201);
    const id = created.body.id as string;
    // Macao leaves the scope on 1 June 2025; the measure is revoked on 1 July 2025.
    await http()
      .post(`/api/v1/measures/${id}/amendments`)
      .set(asAdmin)
      .send({
        scope: { description: 'All products of China' },
        effectiveAt: '2025-06-01T04:00:00Z',
        sources: [source()],
      })
      .expect(200);
    await http()
      .post(`/api/v1/measures/${id}/revocation`)
      .set(asAdmin)
      .send({ effectiveAt: '2025-07-01T04:00:00Z', sources: [source()] })
      .expect(200);

    const statusesFor = (path: string) =>
      receiver
        .on(path)
        .map(
          (request) =>
            JSON.parse(request.body) as { data: { measure: { code: string }; status: string } },
        )
        .filter((change) => change.data.measure.code === code)
        .map((change) => change.data.status);
    await eventually(() => expect(statusesFor(china.path)).toContain('revoked'), {
      timeoutMs: 15_000,
    });
    // Macao heard of the measure while its goods were covered, not of the revocation after.
    expect(statusesFor(macao.path)).toContain('in-force');
    expect(statusesFor(macao.path)).not.toContain('revoked');
  });

  it('tells of a revocation dated ahead, its withdrawal and its revival, at the revocation’s date', async () => {
    const code = `E2E-REVOKE-AHEAD-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { measures: [code] },
    });
    await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201);
    const revokedAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const revocation = await http()
      .post(`/api/v1/measures/${code}/revocation`)
      .set(asAdmin)
      .send({ effectiveAt: revokedAt, sources: [source()] })
      .expect(200);
    const retract = (eventId: string) =>
      http()
        .post(`/api/v1/measures/${code}/retractions`)
        .set(asAdmin)
        .send({ eventId, reason: 'Withdrawn', sources: [source()] })
        .expect(200);
    const withdrawal = await retract(revocation.body.eventIds[0]);
    await retract(withdrawal.body.eventIds[0]);

    const atRevocation = await eventually(
      () => {
        const changes = statusChangesOf(subscription).filter(
          (change) => change.data.asOf === revokedAt,
        );
        expect(changes).toHaveLength(3);
        return changes;
      },
      { timeoutMs: 15_000 },
    );
    expect(
      atRevocation.map((change) => [
        change.data.cause.type,
        change.data.previousStatus,
        change.data.status,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['MeasureRevoked', 'in-force', 'revoked'],
        ['EventRetracted', 'revoked', 'in-force'],
        ['EventRetracted', 'in-force', 'revoked'],
      ]),
    );
  });

  it('tells when a suspension in effect is withdrawn, now', async () => {
    const code = `E2E-WITHDRAWN-${suffix()}`;
    const subscription = await subscribe({
      eventTypes: ['measure.status-changed'],
      filters: { measures: [code] },
    });
    await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201);
    // Decided in the past, in effect since: its withdrawal changes the status today.
    const scheduled = await http()
      .post(`/api/v1/measures/${code}/suspensions`)
      .set(asAdmin)
      .send({
        startsAt: '2025-05-14T04:01:00Z',
        duration: 'P10Y',
        part: { percentPoints: 24 },
        effectiveAt: '2025-05-12T00:00:00Z',
        sources: [source('Suspension notice')],
      })
      .expect(201);
    await http()
      .post(`/api/v1/measures/${code}/retractions`)
      .set(asAdmin)
      .send({ eventId: scheduled.body.eventIds[0], reason: 'Never decided', sources: [source()] })
      .expect(200);

    const withdrawn = await eventually(
      () => {
        const found = statusChangesOf(subscription).find(
          (change) => change.data.cause.type === 'EventRetracted',
        );
        expect(found).toBeDefined();
        return found!;
      },
      { timeoutMs: 15_000 },
    );
    expect(withdrawn.data).toMatchObject({
      previousStatus: 'partially-suspended',
      status: 'in-force',
    });
  });

  it('serves Prometheus metrics at /metrics without a key', async () => {
    const metrics = await http().get('/metrics').expect(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.text).toContain('process_cpu_user_seconds_total');
    // The worker runs in this process too, so its delivery metrics show here.
    expect(metrics.text).toMatch(/accord_webhook_attempts_total\{result="success"\} \d+/);
  });
});

/**
 * A worker killed with SIGKILL in the middle of an attempt: the api in this process, the worker
 * a process of its own, so that it can be killed and another one started.
 */
describe('Webhook attempts of a worker killed mid-attempt, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  const prefix = testRedisPrefix('e2e-webhooks-killed');
  let db: TestDatabase;
  let api: NestFastifyApplication;
  let receiver: WebhookReceiver;
  const workers: WorkerProcess[] = [];
  let workerEnv: Record<string, string>;
  const http = () => request(api.getHttpServer());

  async function startedWorker(): Promise<WorkerProcess> {
    const worker = startWorker(workerEnv);
    workers.push(worker);
    await worker.ready();
    return worker;
  }

  beforeAll(async () => {
    db = await createTestDatabase('e2e_webhooks_killed');
    receiver = await WebhookReceiver.start();
    workerEnv = {
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      ADMIN_API_KEY: adminKey,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      LOG_LEVEL: 'log',
    };
    Object.assign(process.env, { ...workerEnv, LOG_LEVEL: 'fatal' });
    api = await createApi();
    await api.init();
    await api.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        worker.child.kill('SIGKILL');
        await worker.exited;
      }
    }
    await api?.close();
    await receiver?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
  });

  it('logs the interrupted attempt as one without an outcome, and sends again with the same webhook-id', async () => {
    const created = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url('/killed'), eventTypes: ['ping'] })
      .expect(201);
    const subscriptionId = created.body.id as string;
    // The first request is held until the worker is dead; the next one is answered.
    receiver.handle('/killed', (_request, n) =>
      n === 0 ? { status: 204, delayMs: 5000 } : { status: 204 },
    );
    const first = await startedWorker();
    const { deliveryId } = (
      await http().post(`${BASE}/${subscriptionId}/test`).set(asAdmin).expect(202)
    ).body as { deliveryId: string };
    await eventually(() => expect(receiver.on('/killed')).toHaveLength(1), { timeoutMs: 15_000 });
    first.child.kill('SIGKILL');
    await first.exited;

    // The lease the dead worker left runs out (30 s at least): moved to now rather than waited.
    const leased = await db.pool.query(
      `UPDATE webhook_deliveries SET claimed_until = now()
        WHERE id = $1 AND claimed_by IS NOT NULL AND claimed_until > now()`,
      [deliveryId],
    );
    expect(leased.rowCount).toBe(1);
    await startedWorker();

    const delivery = await eventually(
      async () => {
        const log = await http()
          .get(`${BASE}/${subscriptionId}/deliveries`)
          .set(asAdmin)
          .expect(200);
        expect(log.body.items[0]).toMatchObject({ id: deliveryId, status: 'succeeded' });
        return log.body.items[0];
      },
      { timeoutMs: 20_000 },
    );
    expect(delivery).toMatchObject({ attemptCount: 2, lastStatusCode: 204, lastError: null });
    expect(delivery.attempts).toEqual([
      {
        attemptedAt: expect.any(String),
        statusCode: null,
        latencyMs: expect.any(Number),
        error:
          'No outcome recorded: the worker stopped before recording it; the delivery may have been sent.',
        responseBody: null,
      },
      expect.objectContaining({ statusCode: 204, error: null }),
    ]);
    const ids = receiver.on('/killed').map((sent) => sent.headers['webhook-id']);
    expect(ids).toEqual([delivery.webhookId, delivery.webhookId]);
  });
});
