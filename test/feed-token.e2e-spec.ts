import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { apiKeysMigrations } from '@app/api-keys';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';
import { runEntry } from './support/run-process';
import { bearer, keyHeader, PROBLEM_JSON } from './support/write-api';

const PUBLIC_BASE_URL = 'https://accord.example.org/';
const FEED = /^https:\/\/accord\.example\.org\/api\/v1\/expiries\.ics\?token=[^&]+$/;
const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/**
 * Calendar feed tokens (security F3, F4): the table keeps only their SHA-256, a key rotates its
 * own, and the feed URL is on PUBLIC_BASE_URL. The database starts as the version before this
 * one left it, with a key whose token is stored in clear: its feed URL must survive the upgrade.
 */
describe('calendar feed tokens: hashed, rotated, on the public URL', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const legacy = {
    id: randomUUID(),
    secret: `acc_${randomBytes(32).toString('base64url')}`,
    feedToken: randomBytes(24).toString('base64url'),
  };
  const legacyRevoked = { id: randomUUID(), feedToken: randomBytes(24).toString('base64url') };
  let db: TestDatabase;
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());
  const calendar = (token: string) =>
    http().get('/api/v1/expiries.ics').query({ token, from: '2025-01-01' });
  const tokenOf = (headers: Record<string, string>) =>
    http().get('/api/v1/api-keys/me/feed-token').set(headers);
  const rotate = (headers: Record<string, string>) =>
    http().post('/api/v1/api-keys/me/feed-token/rotate').set(headers);

  beforeAll(async () => {
    db = await createTestDatabase('e2e_feed_token');
    // Back to the schema before the upgrade, with keys whose feed tokens are stored as issued.
    const Hashing = apiKeysMigrations.find((m) => m.name === 'FeedTokensHashed1765300000000');
    const migration = new Hashing!();
    await db.migrate(migration, 'down');
    await db.pool.query('DELETE FROM migrations WHERE name = $1', [Hashing!.name]);
    await db.pool.query(
      `INSERT INTO api_keys (id, name, role, prefix, key_hash, feed_token, created_at, revoked_at, version)
       VALUES ($1, 'legacy-viewer', 'viewer', 'acc_leg', $2, $3, now(), NULL, 1),
              ($4, 'legacy-revoked', 'viewer', 'acc_rev', $5, $6, now(), now(), 2)`,
      [
        legacy.id,
        sha256(legacy.secret),
        legacy.feedToken,
        legacyRevoked.id,
        randomBytes(32),
        legacyRevoked.feedToken,
      ],
    );
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      PUBLIC_BASE_URL,
    });
    // The api applies the pending migration as it starts, as an upgrade does.
    app = await createApi();
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  }, 60_000);

  afterAll(async () => {
    delete process.env.PUBLIC_BASE_URL;
    await app?.close();
    await db?.drop();
  });

  it('keeps the feed URL of a key issued before the upgrade, and stores no token in clear', async () => {
    const feed = await calendar(legacy.feedToken);
    expect(feed.status).toBe(200);
    expect(feed.headers['content-type']).toMatch(/^text\/calendar/);
    expect((await calendar(legacyRevoked.feedToken)).status).toBe(401);

    const columns = await db.pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys'",
    );
    expect(columns.rows.map((c) => c.column_name)).not.toContain('feed_token');
    const stored = await db.pool.query<{ row: string; feed_token_hash: Buffer }>(
      'SELECT row_to_json(k)::text AS row, feed_token_hash FROM api_keys k WHERE id = $1',
      [legacy.id],
    );
    expect(stored.rows[0].feed_token_hash).toEqual(sha256(legacy.feedToken));
    expect(stored.rows[0].row).not.toContain(legacy.feedToken);
  });

  it('cannot show a token issued before the upgrade again, and says to rotate it', async () => {
    const shown = await tokenOf(bearer(legacy.secret));
    expect(shown.status).toBe(409);
    expect(shown.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(shown.body).toMatchObject({ status: 409, code: 'feed-token-unavailable' });
    expect(shown.body.detail).toMatch(/rotate/);
    // Telling it does not change it: the old URL still works.
    expect((await calendar(legacy.feedToken)).status).toBe(200);

    const rotated = await rotate(bearer(legacy.secret));
    expect(rotated.status).toBe(200);
    expect(rotated.body).toEqual({
      keyId: legacy.id,
      feedToken: expect.any(String),
      path: `/api/v1/expiries.ics?token=${rotated.body.feedToken as string}`,
      url: expect.stringMatching(FEED),
    });
    expect(rotated.body.feedToken).not.toBe(legacy.feedToken);
    expect((await calendar(legacy.feedToken)).status).toBe(401);
    expect((await calendar(rotated.body.feedToken as string)).status).toBe(200);
    // A rotated token is shown again.
    const again = await tokenOf(bearer(legacy.secret)).expect(200);
    expect(again.body.feedToken).toBe(rotated.body.feedToken);
  });

  it('shows a key its token again, on PUBLIC_BASE_URL whatever the Host, and stores only its hash', async () => {
    const viewer = await keyHeader(http, adminKey, 'viewer');
    const first = await tokenOf(viewer).set('host', 'evil.example').expect(200);
    const second = await tokenOf(viewer).expect(200);
    expect(second.body).toEqual(first.body);
    const token = first.body.feedToken as string;
    expect(first.body.url).toBe(
      `https://accord.example.org/api/v1/expiries.ics?token=${encodeURIComponent(token)}`,
    );
    expect((await calendar(token)).status).toBe(200);

    const stored = await db.pool.query<{ row: string; feed_token_hash: Buffer }>(
      'SELECT row_to_json(k)::text AS row, feed_token_hash FROM api_keys k WHERE id = $1',
      [first.body.keyId],
    );
    expect(stored.rows[0].feed_token_hash).toEqual(sha256(token));
    expect(stored.rows[0].row).not.toContain(token);

    // The bootstrap admin key has one too.
    const admin = await tokenOf(bearer(adminKey)).expect(200);
    expect(admin.body.feedToken).not.toBe(token);
    expect((await calendar(admin.body.feedToken as string)).status).toBe(200);
  });

  it('rotates a key’s own token: the old URL stops at once, other keys’ stay', async () => {
    const viewer = await keyHeader(http, adminKey, 'viewer');
    const other = await keyHeader(http, adminKey, 'editor');
    const before = (await tokenOf(viewer).expect(200)).body.feedToken as string;
    const others = (await tokenOf(other).expect(200)).body.feedToken as string;

    const rotated = await rotate(viewer).expect(200);
    const after = rotated.body.feedToken as string;
    expect(after).not.toBe(before);
    expect(rotated.body.url).toMatch(FEED);
    expect((await calendar(before)).status).toBe(401);
    expect((await calendar(after)).status).toBe(200);
    expect((await tokenOf(viewer).expect(200)).body.feedToken).toBe(after);

    const third = (await rotate(viewer).expect(200)).body.feedToken as string;
    expect(third).not.toBe(after);
    expect((await calendar(after)).status).toBe(401);
    expect((await calendar(others)).status).toBe(200);
  });

  it('lets no cache keep an answer that carries a secret', async () => {
    const created = await http()
      .post('/api/v1/api-keys')
      .set({ authorization: `Bearer ${adminKey}` })
      .send({ name: `no-store-${randomBytes(4).toString('hex')}`, role: 'viewer' })
      .expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    const viewer = { authorization: `Bearer ${created.body.key as string}` };
    expect((await tokenOf(viewer).expect(200)).headers['cache-control']).toBe('no-store');
    expect((await rotate(viewer).expect(200)).headers['cache-control']).toBe('no-store');
    const subscribed = await http()
      .post('/api/v1/webhook-subscriptions')
      .set({ authorization: `Bearer ${adminKey}` })
      // A public address written as such: no lookup, no connection at creation.
      .send({ url: 'https://93.184.215.14/hook', eventTypes: ['ping'] })
      .expect(201);
    expect(subscribed.headers['cache-control']).toBe('no-store');
    const rotatedSecret = await http()
      .post(`/api/v1/webhook-subscriptions/${subscribed.body.id as string}/rotate-secret`)
      .set({ authorization: `Bearer ${adminKey}` })
      .expect(200);
    expect(rotatedSecret.headers['cache-control']).toBe('no-store');
  });

  it('refuses a revoked key’s token, and its rotation', async () => {
    const created = await http()
      .post('/api/v1/api-keys')
      .set(bearer(adminKey))
      .send({ name: `revoked-${randomUUID()}`, role: 'viewer' })
      .expect(201);
    const viewer = bearer(created.body.key as string);
    const token = (await tokenOf(viewer).expect(200)).body.feedToken as string;
    await http()
      .delete(`/api/v1/api-keys/${created.body.id as string}`)
      .set(bearer(adminKey));
    expect((await calendar(token)).status).toBe(401);
    expect((await rotate(viewer)).status).toBe(401);
  });

  it('documents the rotation in the OpenAPI document', async () => {
    const document = (await http().get('/api/openapi.json').expect(200)).body;
    const rotation = document.paths['/api/v1/api-keys/me/feed-token/rotate']?.post;
    expect(rotation).toBeDefined();
    expect(rotation.security).toEqual([{ bearerAuth: [] }]);
    expect(rotation.responses['200'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/FeedToken',
    });
    const shown = document.paths['/api/v1/api-keys/me/feed-token'].get;
    expect(shown.responses['409'].description).toMatch(/feed-token-unavailable/);
  });
});

describe('ADMIN_API_KEY placeholder in production', () => {
  it('stops the api with a configuration error naming ADMIN_API_KEY', async () => {
    const result = await runEntry('apps/api/src/main.ts', [], {
      NODE_ENV: 'production',
      ADMIN_API_KEY: 'change-me-to-a-long-secret',
      // Never reached: the configuration is refused first (and nothing listens on port 1).
      DATABASE_URL: 'postgres://root@127.0.0.1:1/accord_never_created',
      PORT: '3979',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Invalid configuration');
    expect(result.stderr).toMatch(/ADMIN_API_KEY: .*placeholder/);
  });
});
