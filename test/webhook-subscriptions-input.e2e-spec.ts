import { randomBytes } from 'node:crypto';
import { eventually, WebhookReceiver, type TestDatabase } from '@app/testing';
import { Webhook } from 'standardwebhooks';
import { startApiAndWorker, type ApiAndWorker } from './support/api-and-worker';
import { PROBLEM_JSON, source, suffix, usTariffBody } from './support/write-api';

const BASE = '/api/v1/webhook-subscriptions';

/**
 * What a subscription accepts and how its lists and replay refuse what makes no sense: lead
 * times kept once by meaning (one warning, not two), measure kinds checked like parties, cursors
 * and replay windows refused with a 400 rather than quietly answered. The real api and worker in
 * one process, a receiver on loopback.
 */
describe('Webhook subscription input, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let db: TestDatabase;
  let receiver: WebhookReceiver;
  const http = () => app.http();
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let counter = 0;

  const create = (fields: Record<string, unknown>) => {
    const path = `/input-${(counter += 1)}`;
    return http()
      .post(BASE)
      .set(asAdmin)
      .send({ url: receiver.url(path), eventTypes: ['suspension.*', 'ping'], ...fields });
  };
  const fieldsOf = (body: { errors?: { field: string }[] }) =>
    (body.errors ?? []).map((error) => error.field).sort();

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    app = await startApiAndWorker('e2e_webhook_input', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '200',
      SUBSCRIPTION_POLL_MS: '100',
      ALERT_RELAY_POLL_MS: '100',
      ALERT_LEAD_TIMES: 'P1D,PT0S',
    });
    db = app.db;
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  describe('lead times', () => {
    it('keeps equivalent lead times once, in canonical form, on creation and on change', async () => {
      const created = await create({ leadTimes: ['PT1M', 'PT60S', 'P7D', 'P1W', 'P0D'] });
      expect(created.status).toBe(201);
      expect(created.body.leadTimes).toEqual(['PT1M', 'P7D', 'PT0S']);

      const changed = await http()
        .patch(`${BASE}/${created.body.id}`)
        .set(asAdmin)
        .send({ leadTimes: ['PT90M', 'PT1H30M', 'P1D', 'PT24H'] })
        .expect(200);
      // A day and 24 hours differ across a daylight-saving change: both stay.
      expect(changed.body.leadTimes).toEqual(['PT1H30M', 'P1D', 'PT24H']);
    });

    it('sends one warning, not two, for PT1M and PT60S', async () => {
      const code = `E2E-LT-${suffix()}`;
      const created = await create({
        eventTypes: ['suspension.expiring'],
        leadTimes: ['PT1M', 'PT60S'],
        filters: { measures: [code] },
      });
      expect(created.status).toBe(201);
      const { id: measureId } = (
        await http().post('/api/v1/measures').set(asAdmin).send(usTariffBody(code)).expect(201)
      ).body as { id: string };
      // The end 68 s ahead: the one-minute warning fires in about 8 s.
      const endsAt = new Date(Date.now() + 68_000);
      await http()
        .post(`/api/v1/measures/${code}/suspensions`)
        .set(asAdmin)
        .send({
          startsAt: '2025-05-14T04:01:00Z',
          endsAt: endsAt.toISOString(),
          part: { percentPoints: 24 },
          sources: [source('Suspension notice')],
        })
        .expect(201);

      const warnings = await eventually(
        () => {
          const received = receiver.on(new URL(created.body.url).pathname);
          expect(received).toHaveLength(1);
          return received;
        },
        { timeoutMs: 20_000 },
      );
      const body = new Webhook(created.body.secret).verify(
        warnings[0].body,
        warnings[0].headers,
      ) as { type: string; data: { leadTime: string } };
      expect(body).toMatchObject({ type: 'suspension.expiring', data: { leadTime: 'PT1M' } });
      // The schedule has one alert a minute before the end, not one per spelling.
      const { rows } = await db.pool.query<{ lead_time: string }>(
        `SELECT lead_time FROM alert_schedule WHERE measure_id = $1 AND fire_at = $2`,
        [measureId, new Date(endsAt.getTime() - 60_000)],
      );
      expect(rows.map((row) => row.lead_time)).toEqual(['PT1M']);
      // A second copy would have been sent at the same instant; give it time to show up.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(receiver.on(new URL(created.body.url).pathname)).toHaveLength(1);
    });
  });

  describe('filters.measureKinds', () => {
    it('refuses a kind the write API does not know, naming the field', async () => {
      const refused = await create({ filters: { measureKinds: ['Tariff', 'tarif'] } });
      expect(refused.status).toBe(400);
      expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(refused.body.code).toBe('validation-failed');
      expect(refused.body.errors).toEqual([
        {
          field: 'filters.measureKinds.1',
          message: expect.stringContaining('must be one of tariff, export-control'),
        },
      ]);
    });

    it('keeps each event type pattern once', async () => {
      const created = await create({ eventTypes: ['ping', 'suspension.*', 'ping'] });
      expect(created.status).toBe(201);
      expect(created.body.eventTypes).toEqual(['ping', 'suspension.*']);
    });

    it('takes kinds in any case and stores them lower-case, once, as parties are upper-cased', async () => {
      const created = await create({
        filters: { parties: ['cn'], measureKinds: ['Tariff', 'TARIFF', 'Export-Control'] },
      });
      expect(created.status).toBe(201);
      expect(created.body.filters).toEqual({
        parties: ['CN'],
        measureKinds: ['tariff', 'export-control'],
      });

      const patched = await http()
        .patch(`${BASE}/${created.body.id}`)
        .set(asAdmin)
        .send({ filters: { measureKinds: ['embargo'] } });
      expect(patched.status).toBe(400);
      expect(fieldsOf(patched.body)).toEqual(['filters.measureKinds.0']);
    });

    it('refuses a party code no party has, as the write side does', async () => {
      const refused = await create({ filters: { parties: ['cn', 'zz'] } });
      expect(refused.status).toBe(400);
      expect(fieldsOf(refused.body)).toEqual(['filters.parties.1']);
    });
  });

  describe('cursors', () => {
    it('refuses a cursor a list did not hand out, on both lists', async () => {
      const created = await create({});
      expect(created.status).toBe(201);
      for (const path of [BASE, `${BASE}/${created.body.id}/deliveries`]) {
        const refused = await http().get(path).query({ cursor: 'zzz' }).set(asAdmin);
        expect(refused.status).toBe(400);
        expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(refused.body).toMatchObject({
          code: 'validation-failed',
          errors: [{ field: 'cursor', message: 'is not a cursor this list handed out' }],
        });
      }
    });
  });

  describe('replay', () => {
    it('refuses a window that starts in the future, with or without until', async () => {
      const created = await create({});
      expect(created.status).toBe(201);
      const since = new Date(Date.now() + 86_400_000).toISOString();
      for (const query of [
        { since },
        { since, until: new Date(Date.now() + 2 * 86_400_000).toISOString() },
      ]) {
        const refused = await http()
          .post(`${BASE}/${created.body.id}/replay`)
          .query(query)
          .set(asAdmin);
        expect(refused.status).toBe(400);
        expect(refused.body.code).toBe('validation-failed');
        expect(fieldsOf(refused.body)).toEqual(['since']);
      }
    });
  });
});
