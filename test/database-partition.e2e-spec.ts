import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, StallingProxy, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';

/**
 * The api's database cut off without a word (a partition, a failover behind one address, a
 * server frozen): requests answer 503 database-unavailable once a query has gone unanswered
 * for DATABASE_QUERY_TIMEOUT_MS, instead of hanging for as long as the operating system takes
 * to notice, and the api serves again once the path heals, without a restart.
 */
describe('the api when its database stops answering', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase;
  let proxy: StallingProxy;
  let app: NestFastifyApplication;
  const list = () =>
    request(app.getHttpServer())
      .get('/api/v1/measures')
      .set({ authorization: `Bearer ${adminKey}` });

  const saved = { ...process.env };

  beforeAll(async () => {
    db = await createTestDatabase('e2e_database_partition');
    proxy = await StallingProxy.start(db.url);
    Object.assign(process.env, {
      DATABASE_URL: proxy.through(db.url),
      DATABASE_QUERY_TIMEOUT_MS: '1000',
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
    });
    app = await createApi();
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await app?.close();
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    await proxy?.close();
    await db?.drop();
  });

  it('answers 503 database-unavailable within the query timeout, then serves again once healed', async () => {
    expect((await list()).status).toBe(200);

    proxy.stall();
    const started = Date.now();
    const cut = await list();
    expect(cut.status).toBe(503);
    expect(cut.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(cut.body).toMatchObject({ code: 'database-unavailable' });
    expect(Date.now() - started).toBeLessThan(5000);

    proxy.heal();
    // The connections whose queries timed out were closed; new ones get through.
    let healed = await list();
    for (let tries = 0; healed.status !== 200 && tries < 10; tries += 1) healed = await list();
    expect(healed.status).toBe(200);
  });

  it('answers 503 when PostgreSQL itself cuts a statement at the query timeout', async () => {
    // A migration or a rebuild's swap holding the read model: the server cancels the read
    // (57014) after DATABASE_QUERY_TIMEOUT_MS; the same request succeeds once the lock is gone.
    const locker = new Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE measure_status IN ACCESS EXCLUSIVE MODE');
      const cut = await list();
      expect(cut.status).toBe(503);
      expect(cut.headers['retry-after']).toBe('5');
      expect(cut.body).toMatchObject({ code: 'database-unavailable' });
      await locker.query('ROLLBACK');
      expect((await list()).status).toBe(200);
    } finally {
      await locker.end();
    }
  });
});
