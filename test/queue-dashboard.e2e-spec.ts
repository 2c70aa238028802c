import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiKeysService } from '@app/api-keys';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '@app/testing';
import type { LoggerService } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';

const adminKey = 'queue-dashboard-admin-key-0123456789';
const BASIC_CHALLENGE = 'Basic realm="Accord queues", charset="UTF-8"';
/**
 * The policy of every answer under the path, as the browser test proves bull-board's page works
 * with it: nothing but its own scripts, no inline script or eval, nothing fetched or framed
 * from elsewhere, no frame around it.
 */
const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
  "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
  "base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/**
 * A redis-server of the test's own on a free port, to stop, freeze and start again: the
 * machine's Redis serves every other suite. Nothing is saved, so nothing is left behind.
 */
class OwnRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<OwnRedis> {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    probe.close();
    const redis = new OwnRedis(port);
    await redis.restart();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    // Queued until the server listens: ioredis retries the connection every 50 ms.
    const client = new Redis(this.url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
    client.on('error', () => undefined);
    try {
      await client.ping();
    } finally {
      client.disconnect();
    }
  }

  /** Gone as after a crash: its connections close at once. */
  async kill(): Promise<void> {
    const running = this.process;
    if (!running || running.exitCode !== null) return;
    const exited = once(running, 'exit');
    running.kill('SIGKILL');
    await exited;
  }

  /** Still connected, answering nothing (a hung server, or a network that drops everything). */
  freeze(): void {
    this.process?.kill('SIGSTOP');
  }

  thaw(): void {
    this.process?.kill('SIGCONT');
  }
}

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

  it('refuses a request without a key with a problem and a Basic WWW-Authenticate', async () => {
    const response = await request(app.getHttpServer()).get('/admin/queues').expect(401);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.headers['www-authenticate']).toBe(
      'Basic realm="Accord queues", charset="UTF-8"',
    );
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

  describe('answers every request under it itself, misses and wrong methods too', () => {
    const FRAMING = {
      'x-frame-options': 'DENY',
      'content-security-policy': DASHBOARD_CSP,
    };
    const send = (method: string, path: string, headers: Record<string, string> = {}) =>
      request(app.getHttpServer())[method.toLowerCase() as 'get'](path).set(headers);
    const framing = (headers: Record<string, string>) => ({
      'x-frame-options': headers['x-frame-options'],
      'content-security-policy': headers['content-security-policy'],
    });

    it('without credentials, any method on any path → 401 and the challenge, nothing more', async () => {
      for (const [method, path] of [
        ['OPTIONS', '/admin/queues'],
        ['OPTIONS', '/admin/queues/api/queues/accord-alerts/pause'],
        ['DELETE', '/admin/queues'],
        ['POST', '/admin/queues/api/queues'],
        ['GET', '/admin/queues/api/queues/accord-alerts/pause'],
        ['GET', '/admin/queues/no-such-page'],
        ['PATCH', '/admin/queues/no/such/page'],
        ['HEAD', '/admin/queues/no-such-page'],
      ]) {
        const response = await send(method, path);
        expect({
          method,
          path,
          status: response.status,
          allow: response.headers.allow,
          challenge: response.headers['www-authenticate'],
          ...framing(response.headers),
        }).toEqual({
          method,
          path,
          status: 401,
          allow: undefined,
          challenge: BASIC_CHALLENGE,
          ...FRAMING,
        });
        if (method !== 'HEAD') expect(response.body).toMatchObject({ code: 'unauthenticated' });
      }
      // A key that is not an admin's learns no more.
      const viewer = await send('DELETE', '/admin/queues', {
        authorization: `Bearer ${viewerKey}`,
      });
      expect({ status: viewer.status, allow: viewer.headers.allow }).toEqual({
        status: 403,
        allow: undefined,
      });
    });

    it('to an admin, a path it does not have → 404 and a method it lacks → 405, as problems', async () => {
      const asAdmin = { authorization: `Bearer ${adminKey}` };
      for (const path of ['/admin/queues/no-such-page', '/admin/queues/static/no-such.js']) {
        const response = await send('GET', path, asAdmin);
        expect({ path, status: response.status, ...framing(response.headers) }).toEqual({
          path,
          status: 404,
          ...FRAMING,
        });
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.body).toMatchObject({ code: 'not-found', instance: path });
      }
      for (const [method, path, allow] of [
        ['DELETE', '/admin/queues', 'GET, HEAD'],
        ['OPTIONS', '/admin/queues/api/queues', 'GET, HEAD'],
        ['POST', '/admin/queues/api/queues/pause', 'PUT'],
      ]) {
        const response = await send(method, path, asAdmin);
        expect({
          method,
          path,
          status: response.status,
          allow: response.headers.allow,
          ...framing(response.headers),
        }).toEqual({ method, path, status: 405, allow, ...FRAMING });
        expect(response.body).toMatchObject({ code: 'method-not-allowed', instance: path });
      }
    });

    it('a query string that is not UTF-8 → 401 without credentials, 400 with them, framed alike', async () => {
      const path = '/admin/queues/api/queues?activeQueue=%FF';
      const anonymous = await send('GET', path);
      expect({ status: anonymous.status, ...framing(anonymous.headers) }).toEqual({
        status: 401,
        ...FRAMING,
      });
      const admin = await send('GET', path, { authorization: `Bearer ${adminKey}` });
      expect({ status: admin.status, ...framing(admin.headers) }).toEqual({
        status: 400,
        ...FRAMING,
      });
      expect(admin.body).toMatchObject({
        code: 'invalid-query-encoding',
        instance: '/admin/queues/api/queues',
      });
    });

    it('a URL the router cannot decode → 401 without credentials, 400 with them, framed alike', async () => {
      const path = '/admin/queues/queue/%E0%A4%A';
      const anonymous = await send('GET', path);
      expect({ status: anonymous.status, ...framing(anonymous.headers) }).toEqual({
        status: 401,
        ...FRAMING,
      });
      expect(anonymous.headers['www-authenticate']).toBe(BASIC_CHALLENGE);
      const admin = await send('GET', path, { authorization: `Bearer ${adminKey}` });
      expect({ status: admin.status, ...framing(admin.headers) }).toEqual({
        status: 400,
        ...FRAMING,
      });
      expect(admin.body).toMatchObject({ code: 'bad-request' });
    });
  });

  describe('while Redis is unreachable', () => {
    let redis: OwnRedis;
    let cutOff: NestFastifyApplication;
    const asAdmin = { authorization: `Bearer ${adminKey}` };
    const get = (path: string, headers: Record<string, string> = asAdmin) =>
      // Without an answer within 8 s, the request fails rather than hang the suite.
      request(cutOff.getHttpServer()).get(path).set(headers).timeout(8000);
    async function expectRedisUnavailable(path: string, withinMs: number) {
      const started = Date.now();
      const response = await get(path);
      expect({ status: response.status, type: response.headers['content-type'] }).toEqual({
        status: 503,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(response.body).toMatchObject({ status: 503, code: 'redis-unavailable' });
      expect(response.headers['retry-after']).toBe('5');
      expect(Date.now() - started).toBeLessThan(withinMs);
    }
    async function expectBackWithin(ms: number) {
      const deadline = Date.now() + ms;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await get('/admin/queues/api/queues')).status;
        if (status === 200) return;
        await sleep(100);
      }
      expect(status).toBe(200);
    }

    beforeAll(async () => {
      redis = await OwnRedis.start();
      const machineRedis = process.env.REDIS_URL;
      process.env.REDIS_URL = redis.url;
      try {
        cutOff = await createApi();
        await cutOff.init();
        await cutOff.getHttpAdapter().getInstance().ready();
      } finally {
        if (machineRedis === undefined) delete process.env.REDIS_URL;
        else process.env.REDIS_URL = machineRedis;
      }
    });
    afterAll(async () => {
      redis?.thaw();
      await cutOff?.close();
      await redis?.kill();
    });

    it('answers 503 redis-unavailable at once, keys still checked first, and works again once Redis is back', async () => {
      await get('/admin/queues/api/queues').expect(200);
      await redis.kill();

      expect((await get('/admin/queues/api/queues', {})).status).toBe(401);
      expect(
        (await get('/admin/queues/api/queues', { authorization: `Bearer ${viewerKey}` })).status,
      ).toBe(403);
      await expectRedisUnavailable('/admin/queues/api/queues', 1000);
      await expectRedisUnavailable('/admin/queues', 1000);

      await redis.restart();
      await expectBackWithin(5000);
      await get('/admin/queues').expect(200);
    });

    it('answers 503 when Redis stops answering on a connection that stays open', async () => {
      await expectBackWithin(5000);
      redis.freeze();
      // Each Redis command is given 5 s.
      await expectRedisUnavailable('/admin/queues/api/queues', 7000);
      redis.thaw();
      await expectBackWithin(5000);
    });
  });

  describe('in a browser (HTTP Basic)', () => {
    const http = () => request(app.getHttpServer());
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;

    it('may not be framed by another page (the credentials a browser holds go into frames too) and runs only its own scripts', async () => {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const response = await http().get(path).set('authorization', basic('admin', adminKey));
        expect({ path, headers: response.headers }).toMatchObject({
          path,
          headers: {
            'x-frame-options': 'DENY',
            'content-security-policy': DASHBOARD_CSP,
          },
        });
      }
      // Refused requests too: a challenge framed elsewhere would ask for the key there.
      const refused = await http().get('/admin/queues').expect(401);
      expect(refused.headers['x-frame-options']).toBe('DENY');
    });

    it('challenges a request without credentials with Basic, so that a browser asks', async () => {
      for (const path of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/x.js',
      ]) {
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

  describe('a change with Basic credentials, by the Origin a browser sends (no Sec-Fetch-Site)', () => {
    const pause = '/admin/queues/api/queues/no-such-queue/pause';
    const asAdmin = {
      authorization: `Basic ${Buffer.from(`admin:${adminKey}`, 'utf8').toString('base64')}`,
    };
    /** The status of the change; past the check, a queue that does not exist is not found. */
    const pauseFrom = async (
      on: NestFastifyApplication,
      origin: string,
      host = 'dashboard.test',
    ): Promise<number> =>
      (
        await request(on.getHttpServer())
          .put(pause)
          .set({ ...asAdmin, host, origin })
      ).status;

    it('is this site only from the same scheme, host and port', async () => {
      expect(await pauseFrom(app, 'http://dashboard.test')).toBe(404);
      for (const origin of [
        'https://dashboard.test',
        'http://dashboard.test:8080',
        'http://other.test',
        'null',
      ]) {
        expect({ origin, status: await pauseFrom(app, origin) }).toEqual({ origin, status: 403 });
      }
    });

    describe('with PUBLIC_BASE_URL (behind a TLS proxy the request itself is http)', () => {
      let proxied: NestFastifyApplication;

      beforeAll(async () => {
        process.env.PUBLIC_BASE_URL = 'https://accord.example.org/accord';
        try {
          proxied = await createApi();
          await proxied.init();
          await proxied.getHttpAdapter().getInstance().ready();
        } finally {
          delete process.env.PUBLIC_BASE_URL;
        }
      });
      afterAll(async () => {
        await proxied?.close();
      });

      it('is this site from PUBLIC_BASE_URL’s origin only, whatever the Host', async () => {
        for (const host of ['accord.example.org', 'dashboard.test']) {
          expect(await pauseFrom(proxied, 'https://accord.example.org', host)).toBe(404);
        }
        for (const origin of [
          'http://accord.example.org',
          'https://accord.example.org:8443',
          'http://dashboard.test',
        ]) {
          expect({ origin, status: await pauseFrom(proxied, origin) }).toEqual({
            origin,
            status: 403,
          });
        }
      });
    });
  });

  it('takes an admin hanging up mid-body for what it is: noted at debug, no error', async () => {
    const seen = { errors: [] as string[], debugs: [] as string[] };
    const logger: LoggerService = {
      log: () => undefined,
      warn: () => undefined,
      error: (message: unknown) => void seen.errors.push(String(message)),
      debug: (message: unknown) => void seen.debugs.push(String(message)),
    };
    app.useLogger(logger);
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as { port: number };
    await new Promise<void>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'PUT /admin/queues/api/queues/accord-alerts/pause?x=1 HTTP/1.1\r\nHost: x\r\n' +
            `Authorization: Bearer ${adminKey}\r\nContent-Type: application/json\r\n` +
            'Content-Length: 1000\r\n\r\n{"url":',
        );
        setTimeout(() => socket.destroy(), 100);
      });
      socket.on('close', () => resolve());
    });
    const noted = 'PUT /admin/queues/api/queues/accord-alerts/pause: the client went away';
    for (let tries = 0; !seen.debugs.includes(noted) && tries < 50; tries++) await sleep(20);
    expect(seen.debugs).toContain(noted);
    expect(seen.errors).toEqual([]);
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
