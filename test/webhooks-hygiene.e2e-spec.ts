import { randomBytes } from 'node:crypto';
import { eventually, WebhookReceiver } from '@app/testing';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';

const BASE = '/api/v1/webhook-subscriptions';

/**
 * What a subscription's URL and lead times may be, and what its delivery log shows: URLs stored
 * as they are called (normalised) and refused when the parser would rewrite them silently, the
 * lead-time cap as the calendar counts it, and the log's payload the body the receiver got, in
 * the subscription's format. The real api and worker in one process, a receiver on loopback.
 */
describe('Webhook hygiene: URLs, lead times, the delivery log', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let receiver: WebhookReceiver;
  const http = () => app.http();
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let counter = 0;
  const path = () => `/hygiene-${(counter += 1)}`;
  const create = (fields: Record<string, unknown>) =>
    http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url(path()), eventTypes: ['ping'], ...fields });

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await startApiAndWorker('e2e_webhooks_hygiene', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '200',
    });
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  describe('URLs', () => {
    const port = () => new URL(receiver.url('/')).port;

    it.each([
      ['CR LF', 'http://127.0.0.1:9/x\r\nX-Injected: 1', 'a control character (U+000D)'],
      ['a C1 control character', 'http://127.0.0.1:9/a\u0085b', 'a control character (U+0085)'],
      ['a space', 'http://127.0.0.1:9/a b', 'a space (U+0020)'],
      ['a tab in the host', 'http://127.0.0\t.1:9/', 'a control character (U+0009)'],
      ['a no-break space', 'http://127.0.0.1:9/a\u00a0b', 'whitespace (U+00A0)'],
      ['a backslash', 'http://8.8.8.8\\@127.0.0.1/', 'a backslash'],
    ])('refuses a URL with %s on creation and on change', async (_, url, what) => {
      const refused = await create({ url });
      expect(refused.status).toBe(422);
      expect(refused.body).toMatchObject({ code: 'webhook-url-refused' });
      expect(refused.body.detail).toContain(`may not contain ${what}`);
      await expectUnchangedByPatch(url, 422);
    });

    // Refused before any route sees them, as in every text Accord takes (400 validation-failed).
    it.each([
      ['a control character', 'http://127.0.0.1:9/\u0001'],
      ['DEL', 'http://127.0.0.1:9/a\u007fb'],
    ])('refuses a URL with %s as any input', async (_, url) => {
      const refused = await create({ url });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation-failed');
      await expectUnchangedByPatch(url, 400);
    });

    async function expectUnchangedByPatch(url: string, status: number) {
      const created = await create({});
      expect(created.status).toBe(201);
      await http().patch(`${BASE}/${created.body.id}`).set(asAdmin).send({ url }).expect(status);
      const after = await http().get(`${BASE}/${created.body.id}`).set(asAdmin).expect(200);
      expect(after.body.url).toBe(created.body.url);
      expect(after.body.version).toBe(created.body.version);
    }

    it.each([
      ['HTTP://127.0.0.1:9/x', 'http://127.0.0.1:9/x'],
      ['http:127.0.0.1:9/x', 'http://127.0.0.1:9/x'],
      ['http://127.0.0.1:80/ä?q=é', 'http://127.0.0.1/%C3%A4?q=%C3%A9'],
      ['http://127.0.0.1:9', 'http://127.0.0.1:9/'],
      ['https://0x7f.1:443/a/../b', 'https://127.0.0.1/b'],
    ])('stores and shows %j as it will be called: %j', async (url, normalised) => {
      const created = await create({ url });
      expect(created.status).toBe(201);
      expect(created.body.url).toBe(normalised);
      const read = await http().get(`${BASE}/${created.body.id}`).set(asAdmin).expect(200);
      expect(read.body.url).toBe(normalised);
      const list = await http().get(`${BASE}?limit=200`).set(asAdmin).expect(200);
      const listed = (list.body.items as { id: string; url: string }[]).find(
        (item) => item.id === created.body.id,
      );
      expect(listed?.url).toBe(normalised);

      const other = await create({});
      const patched = await http()
        .patch(`${BASE}/${other.body.id}`)
        .set(asAdmin)
        .send({ url })
        .expect(200);
      expect(patched.body.url).toBe(normalised);
    });

    it('sends to the URL it shows, and a change to another spelling of it is no change', async () => {
      const target = path();
      const created = await create({ url: `HTTP://127.0.0.1:${port()}${target}` });
      expect(created.status).toBe(201);
      expect(created.body.url).toBe(`http://127.0.0.1:${port()}${target}`);
      await http().post(`${BASE}/${created.body.id}/test`).set(asAdmin).expect(202);
      await eventually(() => expect(receiver.on(target)).toHaveLength(1));

      const same = await http()
        .patch(`${BASE}/${created.body.id}`)
        .set(asAdmin)
        .send({ url: `http:127.0.0.1:${port()}${target}` })
        .expect(200);
      expect(same.body.version).toBe(created.body.version);
    });

    it('still delivers to a URL stored before these checks, as the parser reads it', async () => {
      const created = await create({});
      // As a subscription made before URLs were normalised may have it: a tab and a space.
      await app.db.pool.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [
        created.body.id,
        `http://127.0.0.1:${port()}/legacy\t path`,
      ]);
      await http().post(`${BASE}/${created.body.id}/test`).set(asAdmin).expect(202);
      await eventually(() => expect(receiver.on('/legacy%20path')).toHaveLength(1));
    });
  });

  describe('lead times', () => {
    it.each([
      ['P121M', 'shown as P10Y1M before'],
      ['P10Y1M', 'a month past the cap'],
      ['P10YT1S', 'a second past the cap'],
      ['P3651D', 'more days than P10Y is taken as'],
      ['P9Y11M16D', 'months and days past what the months left are counted as'],
      ['PT87601H', 'hours past 3650 days'],
    ])('refuses %s (%s) as past P10Y, on creation and on change', async (leadTime) => {
      const refused = await create({ leadTimes: [leadTime] });
      expect(refused.status).toBe(400);
      expect(refused.body.code).toBe('validation-failed');
      expect(JSON.stringify(refused.body.errors)).toContain('up to P10Y');

      const created = await create({});
      const patched = await http()
        .patch(`${BASE}/${created.body.id}`)
        .set(asAdmin)
        .send({ leadTimes: [leadTime] })
        .expect(400);
      expect(patched.body.code).toBe('validation-failed');
    });

    it.each(['PT0.0001S', 'PT1.0005S', 'P1DT0.1234S'])(
      'refuses %s, finer than a millisecond, rather than rounding it',
      async (leadTime) => {
        const refused = await create({ leadTimes: [leadTime] });
        expect(refused.status).toBe(400);
        expect(refused.body.code).toBe('validation-failed');
        expect(JSON.stringify(refused.body.errors)).toContain('to the millisecond');
      },
    );

    it('takes the longest lead times of each kind, and milliseconds', async () => {
      const created = await create({
        leadTimes: ['P10Y', 'P120M', 'P9Y12M', 'P3650D', 'P9Y11M15D', 'PT87600H', 'PT1.5000S'],
      });
      expect(created.status).toBe(201);
      expect(created.body.leadTimes).toEqual(['P10Y', 'P3650D', 'P9Y11M15D', 'PT87600H', 'PT1.5S']);
    });
  });

  describe('the delivery log', () => {
    async function pingedAndLogged(format: 'standard' | 'cloudevents') {
      const target = path();
      const created = await create({ url: receiver.url(target), format });
      expect(created.status).toBe(201);
      const ping = await http().post(`${BASE}/${created.body.id}/test`).set(asAdmin).expect(202);
      await eventually(() => expect(receiver.on(target)).toHaveLength(1));
      const sent = JSON.parse(receiver.on(target)[0].body) as Record<string, unknown>;
      const log = await http()
        .get(`${BASE}/${created.body.id}/deliveries?limit=10`)
        .set(asAdmin)
        .expect(200);
      const one = await http()
        .get(`${BASE}/${created.body.id}/deliveries/${ping.body.deliveryId}`)
        .set(asAdmin)
        .expect(200);
      return { id: created.body.id as string, ping: ping.body, sent, log: log.body, one: one.body };
    }

    it('shows a CloudEvents subscription the CloudEvents body it was sent', async () => {
      const { sent, log, one, ping } = await pingedAndLogged('cloudevents');
      expect(sent).toMatchObject({
        specversion: '1.0',
        id: ping.webhookId,
        source: 'urn:accord:webhooks',
        type: 'dev.accord.ping',
      });
      expect(log.items).toHaveLength(1);
      expect(log.items[0].payload).toEqual(sent);
      expect(one.payload).toEqual(sent);
    });

    it('shows a Standard Webhooks subscription the body it was sent', async () => {
      const { sent, log, one } = await pingedAndLogged('standard');
      expect(sent).toMatchObject({ type: 'ping' });
      expect(log.items[0].payload).toEqual(sent);
      expect(one.payload).toEqual(sent);
    });

    it('shows the retry’s answer in the format too, and the new format after a change', async () => {
      const { id, ping, sent } = await pingedAndLogged('cloudevents');
      const retried = await http()
        .post(`${BASE}/${id}/deliveries/${ping.deliveryId}/retry`)
        .set(asAdmin)
        .expect(202);
      expect(retried.body.payload).toEqual(sent);

      const current = await http().get(`${BASE}/${id}`).set(asAdmin).expect(200);
      await eventually(async () => {
        const delivery = await http()
          .get(`${BASE}/${id}/deliveries/${ping.deliveryId}`)
          .set(asAdmin)
          .expect(200);
        expect(delivery.body.status).toBe('succeeded');
      });
      await http()
        .patch(`${BASE}/${id}`)
        .set({ ...asAdmin, 'if-match': `"${current.body.version}"` })
        .send({ format: 'standard' })
        .expect(200);
      const after = await http()
        .get(`${BASE}/${id}/deliveries/${ping.deliveryId}`)
        .set(asAdmin)
        .expect(200);
      expect(after.body.payload).toEqual({
        type: 'ping',
        timestamp: sent.time,
        data: sent.data,
      });
    });
  });
});
