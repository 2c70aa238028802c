import { ApiKeysService } from '@app/api-keys';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '@app/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';

const adminKey = 'queue-dashboard-admin-key-0123456789';

describe('the queue dashboard at /admin/queues', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let viewerKey: string;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_queue_dashboard');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      ADMIN_API_KEY: adminKey,
    });
    app = await createApi();
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    viewerKey = (await app.get(ApiKeysService).create({ name: 'dashboard-viewer', role: 'viewer' }))
      .key;
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('refuses a request without a key with a problem and WWW-Authenticate', async () => {
    const response = await request(app.getHttpServer()).get('/admin/queues').expect(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.body.code).toBe('unauthenticated');
  });

  it('refuses a key that is not an admin’s, also on the dashboard’s own API', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const response = await request(app.getHttpServer())
        .get(path)
        .set('authorization', `Bearer ${viewerKey}`)
        .expect(403);
      expect(response.body.code).toBe('forbidden');
    }
  });

  it('shows admins the page and the alert queue', async () => {
    const page = await request(app.getHttpServer())
      .get('/admin/queues')
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    expect(page.headers['content-type']).toContain('text/html');
    const queues = await request(app.getHttpServer())
      .get('/admin/queues/api/queues')
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    const names = (queues.body.queues as { name: string }[]).map((queue) => queue.name).sort();
    expect(names).toEqual(['accord-alerts']);
  });

  it('writes nothing to Redis: an api alone leaves no key behind', async () => {
    await request(app.getHttpServer())
      .get('/admin/queues/api/queues')
      .set('authorization', `Bearer ${adminKey}`)
      .expect(200);
    const redis = new Redis(testRedisUrl());
    try {
      expect(await redis.keys(`${process.env.REDIS_PREFIX}:*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
  });
});
