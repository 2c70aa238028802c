import { randomBytes } from 'node:crypto';
import { eventually, WebhookReceiver } from '@app/testing';
import { Webhook } from 'standardwebhooks';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';
import { reversedKeys } from './support/reversed-keys';
import { PROBLEM_JSON } from './support/write-api';

const BASE = '/api/v1/webhook-subscriptions';

interface Subscription {
  id: string;
  secret: string;
  version: number;
  path: string;
}

/**
 * `Idempotency-Key` on the writes to a subscription (SPEC §4): a client that lost an answer and
 * sends the same request again with the same key gets the first answer back, and nothing is
 * rotated, changed or sent a second time. The real api and worker in one process, a receiver
 * on loopback.
 */
describe('Webhook subscription writes with Idempotency-Key, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let receiver: WebhookReceiver;
  const http = () => app.http();
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let counter = 0;
  const newKey = (what: string) => `${what}-${randomBytes(8).toString('hex')}`;

  async function subscribe(): Promise<Subscription> {
    const path = `/idempotency-${(counter += 1)}`;
    const response = await http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url(path), eventTypes: ['ping'] })
      .expect(201);
    return { ...(response.body as Omit<Subscription, 'path'>), path };
  }

  const rotate = (id: string, key: string, headers: Record<string, string> = asAdmin) =>
    http().post(`${BASE}/${id}/rotate-secret`).set(headers).set('idempotency-key', key);
  const read = async (id: string) =>
    (await http().get(`${BASE}/${id}`).set(asAdmin).expect(200)).body as {
      version: number;
      description: string;
      previousSecretExpiresAt: string | null;
    };
  const deliveryLog = async (id: string) =>
    (await http().get(`${BASE}/${id}/deliveries`).set(asAdmin).expect(200)).body.items as Array<{
      id: string;
      status: string;
      attemptCount: number;
    }>;

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await startApiAndWorker('e2e_webhook_idempotency', {
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

  describe('rotate-secret', () => {
    it('answers a retry with the first rotation (same secret, same version) and rotates once', async () => {
      const subscription = await subscribe();
      const key = newKey('rotate');
      const first = await rotate(subscription.id, key).set('if-match', '"1"');
      expect({ status: first.status, etag: first.headers.etag }).toEqual({
        status: 200,
        etag: '"2"',
      });
      // The client lost that answer and sends the same request again (If-Match included).
      const retry = await rotate(subscription.id, key).set('if-match', '"1"');
      expect({ status: retry.status, etag: retry.headers.etag }).toEqual({
        status: 200,
        etag: '"2"',
      });
      expect(retry.body).toEqual(first.body);
      expect(retry.body).toMatchObject({ version: 2, secret: expect.stringMatching(/^whsec_/) });
      expect(await read(subscription.id)).toMatchObject({
        version: 2,
        previousSecretExpiresAt: first.body.previousSecretExpiresAt,
      });
      // What the retry was answered from keeps no secret.
      const kept = await app.db.pool.query(
        'SELECT * FROM webhook_idempotency_keys WHERE subscription_id = $1',
        [subscription.id],
      );
      expect(kept.rows).toHaveLength(1);
      expect(JSON.stringify(kept.rows)).not.toContain(first.body.secret.slice(6));

      // What signs is the secret the client got, beside the one it had before (grace period).
      await http().post(`${BASE}/${subscription.id}/test`).set(asAdmin).expect(202);
      const ping = await eventually(() => {
        expect(receiver.on(subscription.path)).toHaveLength(1);
        return receiver.on(subscription.path)[0];
      });
      for (const secret of [retry.body.secret as string, subscription.secret])
        expect(() => new Webhook(secret).verify(ping.body, ping.headers)).not.toThrow();
    });

    it('rotates once when identical retries race', async () => {
      const subscription = await subscribe();
      const key = newKey('race');
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => rotate(subscription.id, key)),
      );
      expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200, 200]);
      const secrets = new Set(answers.map((answer) => answer.body.secret as string));
      expect(secrets.size).toBe(1);
      expect(answers.map((answer) => answer.body.version)).toEqual([2, 2, 2, 2, 2, 2]);
      expect((await read(subscription.id)).version).toBe(2);
    });

    it('answers a retry after another change with the rotation, and refuses one after another rotation with 409', async () => {
      const subscription = await subscribe();
      const key = newKey('superseded');
      const first = await rotate(subscription.id, key).expect(200);
      // A change that leaves the secret alone: the retry still gets the rotation's answer.
      await http()
        .patch(`${BASE}/${subscription.id}`)
        .set(asAdmin)
        .send({ description: 'renamed' })
        .expect(200);
      const afterChange = await rotate(subscription.id, key).expect(200);
      expect(afterChange.body).toEqual(first.body);
      expect(afterChange.headers.etag).toBe('"2"');

      // Another rotation replaces that secret: the key's answer is gone, and nothing rotates.
      const other = await rotate(subscription.id, newKey('other')).expect(200);
      expect(other.body.version).toBe(4);
      const superseded = await rotate(subscription.id, key);
      expect(superseded.status).toBe(409);
      expect(superseded.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(superseded.body).toMatchObject({
        code: 'idempotency-key-superseded',
        subscriptionId: subscription.id,
        rotatedVersion: 2,
        currentVersion: 4,
      });
      expect(superseded.text).not.toContain(first.body.secret.slice(6));
      expect((await read(subscription.id)).version).toBe(4);
    });

    it('does not make again a subscription deleted since its creation, when the creation is retried', async () => {
      const key = newKey('create-deleted');
      const body = { url: receiver.url(`/idempotency-${(counter += 1)}`), eventTypes: ['ping'] };
      const create = () => http().post(BASE).set(asAdmin).set('idempotency-key', key).send(body);
      const first = await create().expect(201);
      await http().delete(`${BASE}/${first.body.id}`).set(asAdmin).expect(204);

      const retried = await create();
      expect(retried.status).toBe(409);
      expect(retried.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(retried.body).toMatchObject({
        code: 'webhook-subscription-deleted',
        title: 'Webhook subscription deleted',
        subscriptionId: first.body.id,
      });
      await http().get(`${BASE}/${first.body.id}`).set(asAdmin).expect(404);
    });

    it('names the subscription a retried creation made once a rotation has replaced its secret', async () => {
      const key = newKey('create-superseded');
      const body = { url: receiver.url(`/idempotency-${(counter += 1)}`), eventTypes: ['ping'] };
      const create = () => http().post(BASE).set(asAdmin).set('idempotency-key', key).send(body);
      const first = await create().expect(201);
      await rotate(first.body.id, newKey('rotate-after-create')).expect(200);

      // The client lost the creation's answer: the retry cannot show the secret, but says
      // which subscription the key made, so that the client can rotate it for a new one.
      const superseded = await create();
      expect(superseded.status).toBe(409);
      expect(superseded.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(superseded.body).toMatchObject({
        code: 'idempotency-key-superseded',
        title: 'Idempotency key superseded',
        subscriptionId: first.body.id,
        currentVersion: 2,
      });
      expect(superseded.body).not.toHaveProperty('rotatedVersion');
      expect(superseded.body.detail).toContain(first.body.id);
      expect(superseded.text).not.toContain(first.body.secret.slice(6));
    });

    it('keeps a key to the API key that sent it', async () => {
      const subscription = await subscribe();
      const other = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: `second-admin-${(counter += 1)}`, role: 'admin' })
        .expect(201);
      const key = newKey('scoped');
      const mine = await rotate(subscription.id, key).expect(200);
      expect((await rotate(subscription.id, key).expect(200)).body).toEqual(mine.body);
      // Another client that happens to pick the same key makes its own rotation.
      const theirs = await rotate(subscription.id, key, {
        authorization: `Bearer ${other.body.key}`,
      }).expect(200);
      expect(theirs.body.version).toBe(mine.body.version + 1);
      expect(theirs.body.secret).not.toBe(mine.body.secret);
    });
  });

  it('answers a retried change as the first did and does not bump the version again', async () => {
    const subscription = await subscribe();
    const path = `${BASE}/${subscription.id}`;
    const key = newKey('patch');
    const change = (body: object, idempotencyKey = key) =>
      http().patch(path).set(asAdmin).set('idempotency-key', idempotencyKey).send(body);

    const first = await change({ description: 'first' }).set('if-match', '"1"');
    expect({ status: first.status, etag: first.headers.etag }).toEqual({
      status: 200,
      etag: '"2"',
    });
    const retry = await change({ description: 'first' }).set('if-match', '"1"');
    expect({ status: retry.status, etag: retry.headers.etag, body: retry.body }).toEqual({
      status: 200,
      etag: '"2"',
      body: first.body,
    });
    expect((await read(subscription.id)).version).toBe(2);

    // Changed since by someone else: the retry still answers as the first did, and undoes nothing.
    await http().patch(path).set(asAdmin).send({ description: 'second' }).expect(200);
    const late = await change({ description: 'first' });
    expect({ status: late.status, body: late.body }).toEqual({ status: 200, body: first.body });
    expect(await read(subscription.id)).toMatchObject({ version: 3, description: 'second' });

    // A failed precondition spends no key: the same key works once If-Match holds.
    const fresh = newKey('patch-412');
    await change({ description: 'third' }, fresh).set('if-match', '"1"').expect(412);
    const applied = await change({ description: 'third' }, fresh).set('if-match', '"3"');
    expect({ status: applied.status, version: applied.body.version }).toEqual({
      status: 200,
      version: 4,
    });
  });

  it('refuses a key on another request: another body, subscription, route, or a creation', async () => {
    const subscription = await subscribe();
    const another = await subscribe();
    const key = newKey('reused');
    await http()
      .patch(`${BASE}/${subscription.id}`)
      .set(asAdmin)
      .set('idempotency-key', key)
      .send({ description: 'one' })
      .expect(200);

    const attempts = [
      http()
        .patch(`${BASE}/${subscription.id}`)
        .set(asAdmin)
        .set('idempotency-key', key)
        .send({ description: 'two' }),
      http()
        .patch(`${BASE}/${another.id}`)
        .set(asAdmin)
        .set('idempotency-key', key)
        .send({ description: 'one' }),
      rotate(subscription.id, key),
      http().post(`${BASE}/${subscription.id}/test`).set(asAdmin).set('idempotency-key', key),
      http()
        .post(`${BASE}/${subscription.id}/replay`)
        .query({ since: '2020-01-01T00:00:00Z' })
        .set(asAdmin)
        .set('idempotency-key', key),
      http()
        .post(BASE)
        .set(asAdmin)
        .set('idempotency-key', key)
        .send({ url: receiver.url('/never'), eventTypes: ['ping'] }),
    ];
    for (const attempt of attempts) {
      const response = await attempt;
      expect({ status: response.status, code: response.body.code }).toEqual({
        status: 422,
        code: 'idempotency-key-reused',
      });
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    }
    expect((await read(subscription.id)).version).toBe(2);
    expect((await read(another.id)).version).toBe(1);

    // A creation's key is spent on the subscription it made.
    const createKey = newKey('created');
    const created = await http()
      .post(BASE)
      .set(asAdmin)
      .set('idempotency-key', createKey)
      .send({ url: receiver.url('/created'), eventTypes: ['ping'] })
      .expect(201);
    const rotateWithIt = await rotate(created.body.id, createKey);
    expect({ status: rotateWithIt.status, code: rotateWithIt.body.code }).toEqual({
      status: 422,
      code: 'idempotency-key-reused',
    });
    expect((await read(created.body.id)).version).toBe(1);
  });

  it('sends one ping for a retried test', async () => {
    const subscription = await subscribe();
    const key = newKey('test');
    const test = () =>
      http().post(`${BASE}/${subscription.id}/test`).set(asAdmin).set('idempotency-key', key);
    const first = await test().expect(202);
    const retry = await test().expect(202);
    expect(retry.body).toEqual(first.body);
    await eventually(() => expect(receiver.on(subscription.path)).toHaveLength(1));
    expect((await deliveryLog(subscription.id)).map((delivery) => delivery.id)).toEqual([
      first.body.deliveryId,
    ]);
  });

  it('sends a delivery again once for a retried retry', async () => {
    const subscription = await subscribe();
    const { body: ping } = await http()
      .post(`${BASE}/${subscription.id}/test`)
      .set(asAdmin)
      .expect(202);
    await eventually(async () =>
      expect(await deliveryLog(subscription.id)).toEqual([
        expect.objectContaining({ status: 'succeeded', attemptCount: 1 }),
      ]),
    );
    const key = newKey('retry');
    const retry = () =>
      http()
        .post(`${BASE}/${subscription.id}/deliveries/${ping.deliveryId}/retry`)
        .set(asAdmin)
        .set('idempotency-key', key);
    expect((await retry().expect(202)).body).toMatchObject({ status: 'pending' });
    await eventually(async () =>
      expect(await deliveryLog(subscription.id)).toEqual([
        expect.objectContaining({ status: 'succeeded', attemptCount: 2 }),
      ]),
    );
    // The answer to the first retry was lost; sending it again re-opens nothing.
    const again = await retry().expect(202);
    expect(again.body).toMatchObject({ id: ping.deliveryId, status: 'succeeded', attemptCount: 2 });
    expect(await deliveryLog(subscription.id)).toEqual([
      expect.objectContaining({ status: 'succeeded', attemptCount: 2 }),
    ]);
    expect(receiver.on(subscription.path)).toHaveLength(2);
  });

  it('re-sends a window once for a retried replay', async () => {
    const subscription = await subscribe();
    const since = new Date(Date.now() - 1000).toISOString();
    await http().post(`${BASE}/${subscription.id}/test`).set(asAdmin).expect(202);
    await eventually(async () =>
      expect((await deliveryLog(subscription.id)).map((d) => d.status)).toEqual(['succeeded']),
    );
    const key = newKey('replay');
    const until = new Date(Date.now() + 60_000).toISOString();
    const replay = (window: object) =>
      http()
        .post(`${BASE}/${subscription.id}/replay`)
        .query(window)
        .set(asAdmin)
        .set('idempotency-key', key);
    expect((await replay({ since, until }).expect(202)).body).toEqual({ replayed: 1 });
    await eventually(async () =>
      expect(await deliveryLog(subscription.id)).toEqual([
        expect.objectContaining({ status: 'succeeded', attemptCount: 2 }),
      ]),
    );
    expect((await replay({ since, until }).expect(202)).body).toEqual({ replayed: 1 });
    expect(await deliveryLog(subscription.id)).toEqual([
      expect.objectContaining({ status: 'succeeded', attemptCount: 2 }),
    ]);
    expect(receiver.on(subscription.path)).toHaveLength(2);
    // Another window is another request.
    const otherWindow = await replay({ since: '2020-01-01T00:00:00Z', until });
    expect({ status: otherWindow.status, code: otherWindow.body.code }).toEqual({
      status: 422,
      code: 'idempotency-key-reused',
    });
  });

  it('takes a retry that spells the same request differently: an id in capitals, a query reordered', async () => {
    const subscription = await subscribe();
    const key = newKey('spelling');
    const first = await rotate(subscription.id.toUpperCase(), key);
    expect(first.status).toBe(200);
    const retry = await rotate(subscription.id.toUpperCase(), key);
    expect({ status: retry.status, secret: retry.body.secret }).toEqual({
      status: 200,
      secret: first.body.secret,
    });
    expect((await read(subscription.id)).version).toBe(2);

    const replayKey = newKey('replay-spelling');
    const since = '2020-01-01T00:00:00.000Z';
    const until = new Date(Date.now() + 60_000).toISOString();
    const replay = (path: string) =>
      http().post(`${BASE}/${path}`).set(asAdmin).set('idempotency-key', replayKey);
    const replayed = await replay(`${subscription.id}/replay?since=${since}&until=${until}`);
    expect(replayed.status).toBe(202);
    const reordered = await replay(
      `${subscription.id.toUpperCase()}/replay?until=${encodeURIComponent(until)}&since=${since}`,
    );
    expect({ status: reordered.status, body: reordered.body }).toEqual({
      status: 202,
      body: replayed.body,
    });
  });

  describe('a retry with the same body, its keys in another order', () => {
    const subscriptionCount = async () =>
      Number(
        (await app.db.pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_subscriptions'))
          .rows[0].n,
      );
    const refusedAsReused = (response: { status: number; body: { code?: string } }) =>
      expect({ status: response.status, code: response.body.code }).toEqual({
        status: 422,
        code: 'idempotency-key-reused',
      });

    it('answers a creation retried with its keys reversed, nested filters too, with the first subscription', async () => {
      const key = newKey('create-reordered');
      const body = {
        url: receiver.url(`/idempotency-${(counter += 1)}`),
        description: 'reordered on retry',
        eventTypes: ['suspension.expiring', 'ping'],
        filters: { parties: ['CN', 'US'], measureKinds: ['tariff'] },
        leadTimes: ['P7D', 'PT1H'],
        format: 'cloudevents',
      };
      const create = (sent: object) =>
        http().post(BASE).set(asAdmin).set('idempotency-key', key).send(sent);
      const first = await create(body).expect(201);
      const count = await subscriptionCount();

      for (const retried of [
        reversedKeys(body),
        { ...body, filters: reversedKeys(body.filters) },
      ]) {
        const retry = await create(retried);
        expect({ status: retry.status, etag: retry.headers.etag, body: retry.body }).toEqual({
          status: 201,
          etag: '"1"',
          body: first.body,
        });
      }
      expect(await subscriptionCount()).toBe(count);

      // Another value is another request, in whatever order its keys come.
      for (const changed of [
        { ...body, filters: { ...body.filters, parties: ['CN'] } },
        { ...body, leadTimes: ['P7D', 'PT2H'] },
      ])
        refusedAsReused(await create(reversedKeys(changed)));
      expect(await subscriptionCount()).toBe(count);
    });

    it('answers a change retried with its keys reversed as the first did, and changes once', async () => {
      const subscription = await subscribe();
      const key = newKey('patch-reordered');
      const body = {
        description: 'filtered',
        filters: { parties: ['CN'], measureKinds: ['tariff', 'sanction'] },
        leadTimes: ['P1D'],
      };
      const change = (sent: object) =>
        http()
          .patch(`${BASE}/${subscription.id}`)
          .set(asAdmin)
          .set('idempotency-key', key)
          .send(sent);
      const first = await change(body).expect(200);
      expect(first.body.version).toBe(2);

      const retry = await change(reversedKeys(body));
      expect({ status: retry.status, etag: retry.headers.etag, body: retry.body }).toEqual({
        status: 200,
        etag: '"2"',
        body: first.body,
      });
      refusedAsReused(
        await change(reversedKeys({ ...body, filters: { ...body.filters, parties: ['US'] } })),
      );
      expect((await read(subscription.id)).version).toBe(2);
    });
  });

  it('refuses a body nested thousands deep with a 400 when it carries a key too', async () => {
    const subscription = await subscribe();
    const response = await http()
      .patch(`${BASE}/${subscription.id}`)
      .set(asAdmin)
      .set('idempotency-key', newKey('deep'))
      .set('content-type', 'application/json')
      .send(`{"description": ${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect({ status: response.status, code: response.body.code }).toEqual({
      status: 400,
      code: 'validation-failed',
    });
    expect((await read(subscription.id)).version).toBe(1);
  });

  it('documents Idempotency-Key on every write to a subscription', async () => {
    const document = (await http().get('/api/openapi.json').expect(200)).body as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }> }>>;
    };
    const writes: Array<[string, string]> = [
      ['/api/v1/webhook-subscriptions', 'post'],
      ['/api/v1/webhook-subscriptions/{id}', 'patch'],
      ['/api/v1/webhook-subscriptions/{id}/rotate-secret', 'post'],
      ['/api/v1/webhook-subscriptions/{id}/test', 'post'],
      ['/api/v1/webhook-subscriptions/{id}/replay', 'post'],
      ['/api/v1/webhook-subscriptions/{id}/deliveries/{deliveryId}/retry', 'post'],
    ];
    for (const [path, method] of writes) {
      const headers = (document.paths[path][method].parameters ?? [])
        .filter((parameter) => parameter.in === 'header')
        .map((parameter) => parameter.name);
      expect({ path, method, headers }).toEqual({
        path,
        method,
        headers: expect.arrayContaining(['Idempotency-Key']),
      });
    }
  });
});
