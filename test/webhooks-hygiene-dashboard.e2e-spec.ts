import { randomBytes } from 'node:crypto';
import { ApiKeysService } from '@app/api-keys';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';

const BASIC_CHALLENGE = 'Basic realm="Accord queues", charset="UTF-8"';

/**
 * The queue dashboard in a browser: HTTP Basic (any user name, the admin key as the password)
 * on the page and everything under it, a Basic challenge when no credentials come so that the
 * browser asks for them, Bearer as before, Basic nowhere else, and no change to the queues from
 * another site with the credentials a browser holds. Over HTTP, against the real api.
 */
describe('the queue dashboard in a browser (HTTP Basic)', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let viewerKey: string;
  const http = () => request(app.getHttpServer());
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_webhooks_hygiene_dashboard');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      ADMIN_API_KEY: adminKey,
    });
    app = await createApi();
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    viewerKey = (await app.get(ApiKeysService).create({ name: 'hygiene-viewer', role: 'viewer' }))
      .key;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('challenges a request without credentials with Basic, so that a browser asks', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/static/x.js']) {
      const response = await http().get(path).expect(401);
      expect(response.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.body.code).toBe('unauthenticated');
    }
  });

  it('serves the page, every asset it names and its API to an admin key as a Basic password', async () => {
    const asAdmin = basic('anyone', adminKey);
    const page = await http().get('/admin/queues').set('authorization', asAdmin).expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)]
      .map((match) => match[1])
      .filter((url) => !/^[a-z]+:/i.test(url));
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      const path = asset.startsWith('/') ? asset : `/admin/queues/${asset}`;
      // Without credentials a browser is challenged; with them it gets the asset.
      await http().get(path).expect(401);
      const response = await http().get(path).set('authorization', asAdmin);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
    }
    const queues = await http()
      .get('/admin/queues/api/queues')
      .set('authorization', basic('', adminKey))
      .expect(200);
    expect((queues.body.queues as { name: string }[]).map((queue) => queue.name)).toEqual([
      'accord-alerts',
    ]);
    // A user name in UTF-8, and a colon in the password's place is the password's.
    await http()
      .get('/admin/queues/api/queues')
      .set('authorization', basic('Zoë', adminKey))
      .expect(200);
  });

  it('challenges wrong Basic credentials again, and refuses a key that is not an admin’s', async () => {
    for (const authorization of [
      basic('admin', 'not-a-key'),
      basic(adminKey, ''),
      `Basic ${Buffer.from(adminKey).toString('base64')}`,
      'Basic !!!',
    ]) {
      const response = await http()
        .get('/admin/queues/api/queues')
        .set('authorization', authorization)
        .expect(401);
      expect(response.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
    }
    const viewer = await http()
      .get('/admin/queues')
      .set('authorization', basic('viewer', viewerKey))
      .expect(403);
    expect(viewer.body.code).toBe('forbidden');
  });

  it('keeps Bearer working, and answers a wrong Bearer token with the Bearer challenge', async () => {
    await http().get('/admin/queues').set('authorization', `Bearer ${adminKey}`).expect(200);
    const wrong = await http()
      .get('/admin/queues')
      .set('authorization', 'Bearer not-a-key')
      .expect(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
  });

  it('takes Basic on the dashboard only: the API still wants a Bearer token', async () => {
    const response = await http()
      .get('/api/v1/webhook-subscriptions')
      .set('authorization', basic('admin', adminKey))
      .expect(401);
    expect(response.headers['www-authenticate']).not.toContain('Basic');
  });

  it('refuses a change to the queues from another site with Basic credentials (CSRF)', async () => {
    const pause = '/admin/queues/api/queues/no-such-queue/pause';
    const asAdmin = { authorization: basic('admin', adminKey) };
    for (const from of [
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'https://evil.example' },
    ]) {
      const response = await http()
        .put(pause)
        .set({ ...asAdmin, ...from })
        .expect(403);
      expect(response.body.code).toBe('forbidden');
    }
    // From the dashboard's own page, or not from a browser at all: past the check (the queue
    // does not exist, so nothing changes).
    for (const from of [{ 'sec-fetch-site': 'same-origin' }, {}]) {
      const response = await http()
        .put(pause)
        .set({ ...asAdmin, ...from });
      expect([401, 403]).not.toContain(response.status);
    }
    // A Bearer token is never sent by a browser on its own: no such check.
    const bearer = await http()
      .put(pause)
      .set({ authorization: `Bearer ${adminKey}`, 'sec-fetch-site': 'cross-site' });
    expect([401, 403]).not.toContain(bearer.status);
  });
});
