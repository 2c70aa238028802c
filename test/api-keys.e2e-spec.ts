import { randomBytes } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import request from 'supertest';
import { ApiModule } from '../apps/api/src/api.module';
import { createApi } from '../apps/api/src/create-api';
import { CurrentPrincipal, Public, Roles, type Principal } from '../apps/api/src/http';
import { reversedKeys } from './support/reversed-keys';
import { runEntry } from './support/run-process';

/** Routes of every access kind, added beside the real app's. */
@Roles('viewer')
@Controller('test/access')
class AccessController {
  @Get('whoami')
  whoami(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }

  @Roles('editor')
  @Get('editors')
  editors(): { ok: true } {
    return { ok: true };
  }

  @Public()
  @Get('open')
  open(): { ok: true } {
    return { ok: true };
  }
}

/** Declares neither @Roles nor @Public: must be refused to everyone. */
@Controller('test/undeclared')
class UndeclaredController {
  @Get()
  secret(): { leaked: true } {
    return { leaked: true };
  }
}

@Module({ imports: [ApiModule], controllers: [AccessController, UndeclaredController] })
class ApiWithTestRoutes {}

const PROBLEM_JSON = /^application\/problem\+json/;

describe('API keys and roles, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());
  const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  let counter = 0;
  const uniqueName = (label: string) => `${label}-${(counter += 1)}`;

  async function startApi(adminApiKey: string): Promise<NestFastifyApplication> {
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminApiKey,
    });
    const started = await createApi(ApiWithTestRoutes);
    await started.init();
    await started.getHttpAdapter().getInstance().ready();
    return started;
  }

  async function createKey(role: string, name = uniqueName(role)) {
    const response = await http().post('/api/v1/api-keys').set(asAdmin).send({ name, role });
    expect(response.status).toBe(201);
    return response.body as { id: string; key: string; name: string; role: string };
  }

  function expectUnauthenticated(response: request.Response) {
    expect(response.status).toBe(401);
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(response.headers['www-authenticate']).toMatch(/^Bearer\b/);
    expect(response.body).toMatchObject({ status: 401, code: 'unauthenticated' });
  }

  beforeAll(async () => {
    db = await createTestDatabase('e2e_api_keys');
    app = await startApi(adminKey);
  });
  afterAll(async () => {
    await app?.close();
    await db.drop();
  });

  it('lets the ADMIN_API_KEY in as bootstrap-admin', async () => {
    const response = await http().get('/test/access/whoami').set(asAdmin).expect(200);
    expect(response.body).toEqual({
      keyId: expect.any(String),
      name: 'bootstrap-admin',
      role: 'admin',
    });
    const list = await http().get('/api/v1/api-keys').set(asAdmin).expect(200);
    expect(list.body.nextCursor).toBeNull();
    expect(list.body.items).toContainEqual(
      expect.objectContaining({ name: 'bootstrap-admin', role: 'admin', revokedAt: null }),
    );
  });

  it('lists the bootstrap key without any character of ADMIN_API_KEY', async () => {
    const list = await http().get('/api/v1/api-keys').set(asAdmin).expect(200);
    const bootstrap = list.body.items.filter(
      (item: { name: string }) => item.name === 'bootstrap-admin',
    );
    expect(bootstrap.map((item: { prefix: string }) => item.prefix)).toEqual(
      bootstrap.map(() => '(ADMIN_API_KEY)'),
    );
  });

  describe('401 unauthenticated', () => {
    it('without a key, with another scheme, or with an unknown key', async () => {
      expectUnauthenticated(await http().get('/api/v1/api-keys'));
      expectUnauthenticated(
        await http().get('/api/v1/api-keys').set('authorization', `Basic ${adminKey}`),
      );
      expectUnauthenticated(await http().get('/api/v1/api-keys').set('authorization', 'Bearer'));
      const wrong = await http()
        .get('/api/v1/api-keys')
        .set(bearer(`acc_${randomBytes(32).toString('base64url')}`));
      expectUnauthenticated(wrong);
      expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"');
    });

    it('with a revoked key, from the moment it is revoked', async () => {
      const { id, key } = await createKey('admin');
      await http().get('/api/v1/api-keys').set(bearer(key)).expect(200);

      const revoked = await http().delete(`/api/v1/api-keys/${id}`).set(asAdmin);
      expect(revoked.status).toBe(204);
      expect(revoked.text).toBe('');

      expectUnauthenticated(await http().get('/api/v1/api-keys').set(bearer(key)));
      const listed = await http().get('/api/v1/api-keys').set(asAdmin).expect(200);
      expect(listed.body.items).toContainEqual(
        expect.objectContaining({ id, revokedAt: expect.any(String) }),
      );
    });
  });

  describe('revocation across api processes', () => {
    it('a key revoked on one api is refused by another at once, not once its cache runs out', async () => {
      const other = await startApi(adminKey);
      try {
        const { id, key } = await createKey('editor');
        // The other api has looked the key up, and would trust that for its cache's 10 s.
        await request(other.getHttpServer())
          .get('/test/access/editors')
          .set(bearer(key))
          .expect(200);

        await http().delete(`/api/v1/api-keys/${id}`).set(asAdmin).expect(204);

        await eventually(
          async () =>
            expectUnauthenticated(
              await request(other.getHttpServer()).get('/test/access/editors').set(bearer(key)),
            ),
          { timeoutMs: 2000 },
        );
      } finally {
        await other.close();
      }
    });
  });

  describe('roles', () => {
    it('refuses a viewer on an admin route with 403 forbidden', async () => {
      const viewer = await createKey('viewer');
      const response = await http().get('/api/v1/api-keys').set(bearer(viewer.key));
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(response.body).toMatchObject({
        status: 403,
        code: 'forbidden',
        requiredRole: 'admin',
      });
      await http()
        .post('/api/v1/api-keys')
        .set(bearer(viewer.key))
        .send({ name: uniqueName('x'), role: 'admin' })
        .expect(403);
    });

    it('orders roles admin ⊃ editor ⊃ viewer, the handler’s declaration winning', async () => {
      const viewer = await createKey('viewer');
      const editor = await createKey('editor');

      const whoami = await http().get('/test/access/whoami').set(bearer(viewer.key)).expect(200);
      expect(whoami.body).toEqual({ keyId: viewer.id, name: viewer.name, role: 'viewer' });
      await http().get('/test/access/editors').set(bearer(viewer.key)).expect(403);
      await http().get('/test/access/editors').set(bearer(editor.key)).expect(200);
      await http().get('/test/access/editors').set(asAdmin).expect(200);
      await http().get('/test/access/open').expect(200, { ok: true });
      await http().get('/health/live').expect(200);
    });

    it('fails closed: a route declaring neither @Roles nor @Public is refused', async () => {
      expectUnauthenticated(await http().get('/test/undeclared'));
      const response = await http().get('/test/undeclared').set(asAdmin);
      expect(response.status).toBe(403);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(response.body.code).toBe('forbidden');
      expect(response.text).not.toContain('leaked');
    });
  });

  describe('POST/GET/DELETE /api/v1/api-keys', () => {
    it('shows a created key once; the list never carries a secret', async () => {
      const name = uniqueName('ci bot');
      const response = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name, role: 'editor' })
        .expect(201);
      expect(response.body).toEqual({
        id: expect.any(String),
        name,
        role: 'editor',
        prefix: response.body.key.slice(0, 10),
        key: expect.stringMatching(/^acc_[A-Za-z0-9_-]{43}$/),
        createdAt: expect.any(String),
      });

      const list = await http().get('/api/v1/api-keys').set(asAdmin).expect(200);
      const listed = list.body.items.find((item: { id: string }) => item.id === response.body.id);
      expect(Object.keys(listed).sort()).toEqual(
        ['createdAt', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'role'].sort(),
      );
      expect(list.text).not.toContain(response.body.key);
      expect(list.text).not.toContain(adminKey);
    });

    it('refuses bad bodies, taken names and unknown ids with problems', async () => {
      const invalid = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: '', role: 'root', scopes: ['all'] });
      expect(invalid.status).toBe(400);
      expect(invalid.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(invalid.body.code).toBe('validation-failed');
      const fields = new Set(invalid.body.errors.map((e: { field: string }) => e.field));
      expect([...fields].sort()).toEqual(['name', 'role', 'scopes']);

      const { name } = await createKey('viewer');
      const taken = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name, role: 'admin' });
      expect(taken.status).toBe(409);
      expect(taken.body).toMatchObject({ code: 'api-key-name-taken', name });
      await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: 'bootstrap-admin', role: 'admin' })
        .expect(409);

      for (const id of ['7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33', 'not-a-uuid']) {
        const unknown = await http().delete(`/api/v1/api-keys/${id}`).set(asAdmin);
        expect(unknown.status).toBe(404);
        expect(unknown.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(unknown.body).toMatchObject({ code: 'api-key-not-found', id });
      }
    });
  });

  describe('Idempotency-Key on POST /api/v1/api-keys', () => {
    const createWith = (idempotencyKey: string, body: object, headers = asAdmin) =>
      http()
        .post('/api/v1/api-keys')
        .set(headers)
        .set('idempotency-key', idempotencyKey)
        .send(body);
    const keysNamed = async (name: string) => {
      const list = await http().get('/api/v1/api-keys').set(asAdmin).expect(200);
      return list.body.items.filter((item: { name: string }) => item.name === name);
    };
    const newIdempotencyKey = () => randomBytes(12).toString('base64url');

    it('answers a retry with the key the first request made, its secret included, and creates nothing', async () => {
      const idempotencyKey = newIdempotencyKey();
      const body = { name: uniqueName('retried'), role: 'editor' };
      const first = await createWith(idempotencyKey, body);
      expect(first.status).toBe(201);
      expect(first.headers.etag).toBe('"1"');
      expect(first.headers.location).toBe(`/api/v1/api-keys/${first.body.id}`);

      const retry = await createWith(idempotencyKey, body);
      expect(retry.status).toBe(201);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.etag).toBe('"1"');
      expect(await keysNamed(body.name)).toHaveLength(1);
      await http().get('/test/access/editors').set(bearer(retry.body.key)).expect(200);

      // Kept for the retry, the secret is still not stored readably.
      const { rows } = await db.pool.query('SELECT * FROM api_keys WHERE id = $1', [first.body.id]);
      expect(JSON.stringify(rows[0])).not.toContain(first.body.key.slice(4));
      // Scoped to the calling key: another admin with the same Idempotency-Key gets no secret.
      const otherAdmin = await createKey('admin');
      const other = await createWith(idempotencyKey, body, bearer(otherAdmin.key));
      expect(other.status).toBe(409);
      expect(other.body).toMatchObject({ code: 'api-key-name-taken' });
      expect(other.text).not.toContain(first.body.key);
    });

    it('refuses the same Idempotency-Key on another request with 422 idempotency-key-reused', async () => {
      const idempotencyKey = newIdempotencyKey();
      const name = uniqueName('first');
      await createWith(idempotencyKey, { name, role: 'viewer' }).expect(201);

      const otherName = uniqueName('second');
      for (const body of [
        { name: otherName, role: 'viewer' },
        { name, role: 'admin' },
      ]) {
        const reused = await createWith(idempotencyKey, body);
        expect(reused.status).toBe(422);
        expect(reused.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(reused.body).toMatchObject({ status: 422, code: 'idempotency-key-reused' });
        expect(reused.text).not.toMatch(/acc_/);
      }
      expect(await keysNamed(otherName)).toEqual([]);
      expect(await keysNamed(name)).toEqual([expect.objectContaining({ role: 'viewer' })]);
    });

    it('answers a retry with its keys in another order as the same request; another value is still refused', async () => {
      const idempotencyKey = newIdempotencyKey();
      const body = { name: uniqueName('reordered'), role: 'editor' };
      const first = await createWith(idempotencyKey, body).expect(201);

      const retry = await createWith(idempotencyKey, reversedKeys(body));
      expect({ status: retry.status, etag: retry.headers.etag, body: retry.body }).toEqual({
        status: 201,
        etag: '"1"',
        body: first.body,
      });
      expect(await keysNamed(body.name)).toEqual([expect.objectContaining({ id: first.body.id })]);

      const reused = await createWith(idempotencyKey, reversedKeys({ ...body, role: 'admin' }));
      expect({ status: reused.status, code: reused.body.code }).toEqual({
        status: 422,
        code: 'idempotency-key-reused',
      });
      expect(reused.text).not.toContain(first.body.key);
      expect(await keysNamed(body.name)).toEqual([
        expect.objectContaining({ id: first.body.id, role: 'editor' }),
      ]);
    });

    it('creates one key when identical requests race, and answers each with it', async () => {
      const idempotencyKey = newIdempotencyKey();
      const body = { name: uniqueName('raced'), role: 'viewer' };
      const responses = await Promise.all(
        Array.from({ length: 8 }, () => createWith(idempotencyKey, body)),
      );

      expect(responses.map((response) => response.status)).toEqual(responses.map(() => 201));
      const [first, ...rest] = responses.map((response) => response.body);
      expect(first.key).toMatch(/^acc_/);
      for (const body of rest) expect(body).toEqual(first);
      expect(await keysNamed(body.name)).toEqual([expect.objectContaining({ id: first.id })]);
    });

    it('tells a retry after the key was revoked that its secret cannot be shown again', async () => {
      const idempotencyKey = newIdempotencyKey();
      const body = { name: uniqueName('revoked-then-retried'), role: 'viewer' };
      const first = await createWith(idempotencyKey, body).expect(201);
      await http().delete(`/api/v1/api-keys/${first.body.id}`).set(asAdmin).expect(204);

      const retry = await createWith(idempotencyKey, body);
      expect(retry.status).toBe(409);
      expect(retry.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(retry.body).toMatchObject({ code: 'api-key-secret-unavailable', id: first.body.id });
      expect(retry.text).not.toContain(first.body.key);
      expect(await keysNamed(body.name)).toHaveLength(1);
    });
  });

  describe('ETag and If-Match on /api/v1/api-keys/{id}', () => {
    it('GET answers one key, active or revoked, with its version as ETag', async () => {
      const { id, name } = await createKey('viewer');
      const active = await http().get(`/api/v1/api-keys/${id}`).set(asAdmin).expect(200);
      expect(active.headers.etag).toBe('"1"');
      const listed = (await http().get('/api/v1/api-keys').set(asAdmin)).body.items.find(
        (item: { id: string }) => item.id === id,
      );
      expect(active.body).toEqual(listed);
      expect(active.body).toMatchObject({ name, revokedAt: null });

      await http().delete(`/api/v1/api-keys/${id}`).set(asAdmin).expect(204);
      const revoked = await http().get(`/api/v1/api-keys/${id}`).set(asAdmin).expect(200);
      expect(revoked.headers.etag).toBe('"2"');
      expect(revoked.body.revokedAt).toEqual(expect.any(String));

      for (const unknown of ['7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33', 'not-a-uuid']) {
        const response = await http().get(`/api/v1/api-keys/${unknown}`).set(asAdmin);
        expect(response.status).toBe(404);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(response.body).toMatchObject({ code: 'api-key-not-found', id: unknown });
      }
      const viewer = await createKey('viewer');
      await http().get(`/api/v1/api-keys/${id}`).set(bearer(viewer.key)).expect(403);
    });

    it('DELETE revokes only at a version If-Match names: 412 precondition-failed otherwise', async () => {
      const { id, key } = await createKey('editor');
      const revoke = (ifMatch?: string) => {
        const sent = http().delete(`/api/v1/api-keys/${id}`).set(asAdmin);
        return ifMatch === undefined ? sent : sent.set('if-match', ifMatch);
      };

      for (const stale of ['"2"', '"abc"', 'W/"other", "7"']) {
        const refused = await revoke(stale);
        expect(refused.status).toBe(412);
        expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(refused.body).toMatchObject({ code: 'precondition-failed', currentVersion: 1 });
      }
      // Nothing was revoked by the refused requests.
      await http().get('/test/access/editors').set(bearer(key)).expect(200);

      const revoked = await revoke('"1"');
      expect(revoked.status).toBe(204);
      expect(revoked.headers.etag).toBe('"2"');
      expectUnauthenticated(await http().get('/test/access/editors').set(bearer(key)));

      // Someone who saw the key active is told it moved on, not that it is revoked again.
      const late = await revoke('"1"');
      expect(late.status).toBe(412);
      expect(late.body).toMatchObject({ code: 'precondition-failed', currentVersion: 2 });
      const again = await revoke('"2"');
      expect(again.status).toBe(204);
      expect(again.headers.etag).toBe('"2"');
      await revoke('*').expect(204);

      const malformed = await revoke('"unterminated');
      expect(malformed.status).toBe(400);
      expect(malformed.body.code).toBe('invalid-if-match');
      const unknown = await http()
        .delete('/api/v1/api-keys/7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33')
        .set(asAdmin)
        .set('if-match', '"1"');
      expect(unknown.status).toBe(404);
    });

    it('documents the headers and answers in OpenAPI', async () => {
      const document = (await http().get('/api/openapi.json').expect(200)).body;
      const headersOf = (operation: { parameters?: { in: string; name: string }[] }) =>
        (operation.parameters ?? []).filter((p) => p.in === 'header').map((p) => p.name);
      const paths = document.paths;
      expect(headersOf(paths['/api/v1/api-keys'].post)).toContain('Idempotency-Key');
      expect(paths['/api/v1/api-keys'].post.responses['422']).toBeDefined();
      expect(headersOf(paths['/api/v1/api-keys/{id}'].delete)).toContain('If-Match');
      expect(paths['/api/v1/api-keys/{id}'].delete.responses['412']).toBeDefined();
      expect(paths['/api/v1/api-keys/{id}'].get.responses['200'].headers).toHaveProperty('ETag');
    });
  });

  describe('npm run cli -- api-keys:create', () => {
    it('prints a key once that then works against the API', async () => {
      const name = uniqueName('from-cli');
      const result = await runEntry(
        'apps/cli/src/main.ts',
        ['api-keys:create', '--role', 'admin', '--name', name],
        { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      );
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`name: ${name}`);
      expect(result.stdout).toContain('role: admin');
      const key = /^key: +(acc_\S+)$/m.exec(result.stdout)?.[1];
      const id = /^id: +(\S+)$/m.exec(result.stdout)?.[1];
      expect(key).toBeDefined();

      const list = await http().get('/api/v1/api-keys').set(bearer(key!)).expect(200);
      expect(list.body.items).toContainEqual(expect.objectContaining({ id, name, role: 'admin' }));
    });

    it.each(['bootstrap-admin', 'Bootstrap-Admin'])(
      'says that %s is a reserved name, not one in use',
      async (name) => {
        const result = await runEntry(
          'apps/cli/src/main.ts',
          ['api-keys:create', '--role', 'admin', '--name', name],
          { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
        );
        expect(result.code).toBe(1);
        expect(result.stderr.trim()).toBe(
          `The name "${name}" is reserved for the key that ADMIN_API_KEY sets; choose another`,
        );
        expect(result.stdout).toBe('');
      },
    );

    it('exits 2 with the usage on bad arguments', async () => {
      for (const args of [
        ['api-keys:create', '--name', 'x'],
        ['api-keys:create', '--role', 'root', '--name', 'x'],
        ['api-keys:create', '--role', 'admin', '--name', 'x', '--colour', 'red'],
        ['api-keys:create', '--role', 'admin', '--name', 'x', '--name', 'y'],
      ]) {
        const result = await runEntry('apps/cli/src/main.ts', args, { DATABASE_URL: db.url });
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('Usage: npm run cli -- api-keys:create --role');
        expect(result.stdout).not.toContain('acc_');
      }
    });
  });

  describe('ADMIN_API_KEY rotation', () => {
    it('revokes the old bootstrap key when the api starts with a new one', async () => {
      const newAdminKey = `rotated-${randomBytes(24).toString('base64url')}`;
      await app.close();
      app = await startApi(newAdminKey);

      expectUnauthenticated(await http().get('/api/v1/api-keys').set(asAdmin));
      const list = await http().get('/api/v1/api-keys').set(bearer(newAdminKey)).expect(200);
      const bootstrapKeys = list.body.items.filter(
        (item: { name: string }) => item.name === 'bootstrap-admin',
      );
      expect(bootstrapKeys).toHaveLength(2);
      expect(bootstrapKeys.filter((item: { revokedAt: unknown }) => !item.revokedAt)).toHaveLength(
        1,
      );
    });
  });
});
