import { randomBytes } from 'node:crypto';
import { Controller, Get, Module } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import request from 'supertest';
import { ApiModule } from '../apps/api/src/api.module';
import { createApi } from '../apps/api/src/create-api';
import { CurrentPrincipal, Public, Roles, type Principal } from '../apps/api/src/http';
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

    it('says that bootstrap-admin is a reserved name, not one in use', async () => {
      const result = await runEntry(
        'apps/cli/src/main.ts',
        ['api-keys:create', '--role', 'admin', '--name', 'bootstrap-admin'],
        { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      );
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        'The name "bootstrap-admin" is reserved for the key that ADMIN_API_KEY sets; choose another',
      );
      expect(result.stdout).toBe('');
    });

    it('exits 2 with the usage on bad arguments', async () => {
      for (const args of [
        ['api-keys:create', '--name', 'x'],
        ['api-keys:create', '--role', 'root', '--name', 'x'],
        ['api-keys:create', '--role', 'admin', '--name', 'x', '--colour', 'red'],
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
