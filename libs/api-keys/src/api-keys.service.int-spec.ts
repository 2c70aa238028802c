import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import {
  ApiKeyNameTakenError,
  ApiKeyNotFoundError,
  ApiKeySecretUnavailableError,
} from './api-keys.errors';
import { ApiKeysService } from './api-keys.service';
import { HideBootstrapKeyPrefix1764920000000 } from './migrations/1764920000000-hide-bootstrap-key-prefix';

describe('ApiKeysService on PostgreSQL', () => {
  let db: TestDatabase;
  let now: Date;
  const clock = () => now;
  const service = (options = {}) => new ApiKeysService(db.pool, { clock, ...options });
  const at = (iso: string) => (now = new Date(iso));
  let counter = 0;
  const uniqueName = (label: string) => `${label}-${(counter += 1)}`;
  const row = async (id: string) =>
    (await db.pool.query('SELECT * FROM api_keys WHERE id = $1', [id])).rows[0];

  beforeAll(async () => {
    db = await createTestDatabase('api_keys');
  });
  beforeEach(() => at('2026-03-01T12:00:00Z'));
  afterAll(async () => {
    await db.drop();
  });

  describe('create', () => {
    it('returns the key once and stores only its SHA-256', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('ci'), role: 'editor' });

      expect(created.key).toMatch(/^acc_[A-Za-z0-9_-]{43}$/);
      expect(created.prefix).toBe(created.key.slice(0, 10));
      expect(created.createdAt).toEqual(now);
      const stored = await row(created.id);
      expect(stored.key_hash).toEqual(createHash('sha256').update(created.key).digest());
      expect(JSON.stringify(stored)).not.toContain(created.key.slice(4));
      expect(stored.feed_token_hash).toEqual(expect.any(Buffer));
      expect(stored.feed_token_salt).toEqual(expect.any(Buffer));
    });

    it('lists keys without their secret, hash or feed token', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('lister'), role: 'viewer' });
      const listed = (await keys.list()).find((key) => key.id === created.id);
      expect(listed).toEqual({
        id: created.id,
        name: created.name,
        role: 'viewer',
        prefix: created.prefix,
        createdAt: now,
        lastUsedAt: null,
        revokedAt: null,
      });
    });

    it('keeps names unique among active keys only, and reserves bootstrap-admin', async () => {
      const keys = service();
      const name = uniqueName('dup');
      const first = await keys.create({ name, role: 'viewer' });
      await expect(keys.create({ name, role: 'admin' })).rejects.toBeInstanceOf(
        ApiKeyNameTakenError,
      );
      await keys.revoke(first.id);
      await expect(keys.create({ name, role: 'admin' })).resolves.toMatchObject({ name });
      await expect(keys.create({ name: 'bootstrap-admin', role: 'admin' })).rejects.toBeInstanceOf(
        ApiKeyNameTakenError,
      );
    });
  });

  describe('create with an idempotency key', () => {
    const idempotency = (label: string) => ({
      commandId: `idempotency:${label}`,
      requestFingerprint: `fingerprint-${label}`,
      callerSecret: `acc_caller-secret-${label}`,
    });

    it('shows the secret to a retry for 24 hours, then forgets it', async () => {
      const keys = service();
      const retry = idempotency(uniqueName('window'));
      const input = { name: uniqueName('windowed'), role: 'viewer' as const };
      const created = await keys.create(input, retry);

      at('2026-03-02T11:59:59Z');
      await expect(keys.create(input, retry)).resolves.toEqual(created);
      // Another caller's secret does not open what this one's sealed; its window has not passed.
      await expect(
        keys.create(input, { ...retry, callerSecret: 'acc_someone-else' }),
      ).rejects.toMatchObject({
        code: 'api-key-secret-unavailable',
        id: created.id,
        reason: 'unreadable',
        message: expect.not.stringContaining('has passed'),
      });

      at('2026-03-02T12:00:00Z');
      await expect(keys.create(input, retry)).rejects.toMatchObject({
        code: 'api-key-secret-unavailable',
        id: created.id,
        reason: 'expired',
      });
      expect((await row(created.id)).creation_replay).not.toBeNull();
      // A running service drops sealed secrets past their window.
      await keys.start();
      await keys.stop();
      expect(await row(created.id)).toMatchObject({
        creation_replay: null,
        creation_replay_until: null,
        version: 1,
        revoked_at: null,
      });
      await expect(keys.create(input, retry)).rejects.toBeInstanceOf(ApiKeySecretUnavailableError);
      expect((await keys.list()).filter((key) => key.name === input.name)).toHaveLength(1);
    });

    it('drops the sealed secret when the key is revoked, and counts the revocation as version 2', async () => {
      const keys = service();
      const retry = idempotency(uniqueName('revoked'));
      const created = await keys.create({ name: uniqueName('sealed'), role: 'viewer' }, retry);
      expect(created.version).toBe(1);
      expect((await row(created.id)).creation_replay).not.toBeNull();

      await expect(keys.revoke(created.id)).resolves.toEqual({ version: 2 });

      expect(await row(created.id)).toMatchObject({ creation_replay: null, version: 2 });
      await expect(keys.get(created.id)).resolves.toMatchObject({ version: 2 });
    });
  });

  describe('authenticate', () => {
    it('knows an active key and no other secret', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('auth'), role: 'editor' });
      await expect(keys.authenticate(created.key)).resolves.toEqual({
        keyId: created.id,
        name: created.name,
        role: 'editor',
      });
      await expect(keys.authenticate(`${created.key}x`)).resolves.toBeNull();
      await expect(keys.authenticate('')).resolves.toBeNull();
      await expect(keys.authenticate('a'.repeat(10_000))).resolves.toBeNull();
    });

    it('refuses a revoked key at once in this process, and within the cache TTL in another', async () => {
      const here = service({ cacheTtlMs: 10_000 });
      const elsewhere = service({ cacheTtlMs: 10_000 });
      const created = await here.create({ name: uniqueName('revoked'), role: 'viewer' });
      expect(await here.authenticate(created.key)).not.toBeNull();
      expect(await elsewhere.authenticate(created.key)).not.toBeNull();

      await here.revoke(created.id);

      expect(await here.authenticate(created.key)).toBeNull();
      // The other process still trusts its cached lookup for a few seconds, then asks again.
      expect(await elsewhere.authenticate(created.key)).not.toBeNull();
      at('2026-03-01T12:00:10.001Z');
      expect(await elsewhere.authenticate(created.key)).toBeNull();
    });

    describe('with the revocation listener, as the api runs it', () => {
      const listening: ApiKeysService[] = [];
      const listeningService = async () => {
        const keys = service({ cacheTtlMs: 10_000, databaseUrl: db.url });
        listening.push(keys);
        await keys.start();
        return keys;
      };
      afterEach(async () => {
        await Promise.all(listening.splice(0).map((keys) => keys.stop()));
      });

      it('refuses a key revoked by another process at once, however long its cache lasts', async () => {
        const here = await listeningService();
        const elsewhere = await listeningService();
        const created = await here.create({
          name: uniqueName('revoked-elsewhere'),
          role: 'editor',
        });
        expect(await elsewhere.authenticate(created.key)).not.toBeNull();

        await here.revoke(created.id);

        // The clock stands still: only the notification can end the cached lookup.
        await eventually(async () => expect(await elsewhere.authenticate(created.key)).toBeNull(), {
          timeoutMs: 2000,
        });
      });

      it('asks the database while it cannot hear revocations, and listens again', async () => {
        const warnings = jest.spyOn(Logger.prototype, 'warn');
        const logs = jest.spyOn(Logger.prototype, 'log');
        const keys = await listeningService();
        const created = await keys.create({ name: uniqueName('unheard'), role: 'viewer' });
        expect(await keys.authenticate(created.key)).not.toBeNull();

        await db.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'accord-api-key-revocations' AND datname = current_database()`,
        );
        // Revoked while no one listened: no notification reaches this process.
        await db.pool.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [created.id]);

        // At once, not only once the listener is back (a second later).
        await eventually(async () => expect(await keys.authenticate(created.key)).toBeNull(), {
          timeoutMs: 500,
        });
        // The listener comes back on its own.
        await eventually(async () => {
          const { rows } = await db.pool.query(
            `SELECT 1 FROM pg_stat_activity
              WHERE application_name = 'accord-api-key-revocations' AND datname = current_database()`,
          );
          expect(rows).toHaveLength(1);
        });
        expect(await keys.authenticate(created.key)).toBeNull();
        // The operator reads both: the loss, and that it is over.
        expect(warnings).toHaveBeenCalledWith(
          expect.stringMatching(/^Lost the API key revocation listener/),
        );
        await eventually(() =>
          expect(logs).toHaveBeenCalledWith('The API key revocation listener is back'),
        );
        warnings.mockRestore();
        logs.mockRestore();
      });

      it('started twice, leaves neither a listener nor a sweep running once stopped', async () => {
        const listeners = async () =>
          (
            await db.pool.query(
              `SELECT 1 FROM pg_stat_activity
                WHERE application_name = 'accord-api-key-revocations'
                  AND datname = current_database()`,
            )
          ).rows.length;
        // A sweep, while one runs, every 50 ms.
        const keys = service({ databaseUrl: db.url, creationReplayMs: 50 });
        await keys.start();
        await keys.start();
        const created = await keys.create(
          { name: uniqueName('twice-started'), role: 'viewer' },
          {
            commandId: `idempotency:${uniqueName('twice')}`,
            requestFingerprint: 'fingerprint',
            callerSecret: 'acc_caller-secret',
          },
        );
        await keys.stop();

        await eventually(async () => expect(await listeners()).toBe(0), { timeoutMs: 2000 });
        // Past the window: only a sweep still running would drop the sealed copy now.
        at('2026-03-01T13:00:00Z');
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect((await row(created.id)).creation_replay).not.toBeNull();
      });
    });

    it('records the last use at most once a minute per key', async () => {
      const keys = service({ cacheTtlMs: 0 });
      const created = await keys.create({ name: uniqueName('touch'), role: 'viewer' });

      await keys.authenticate(created.key);
      expect((await row(created.id)).last_used_at).toEqual(new Date('2026-03-01T12:00:00Z'));

      at('2026-03-01T12:00:59Z');
      await keys.authenticate(created.key);
      // Another process does not write within the minute either.
      await service().authenticate(created.key);
      expect((await row(created.id)).last_used_at).toEqual(new Date('2026-03-01T12:00:00Z'));

      at('2026-03-01T12:01:00Z');
      await keys.authenticate(created.key);
      expect((await row(created.id)).last_used_at).toEqual(new Date('2026-03-01T12:01:00Z'));
    });
  });

  describe('revoke', () => {
    it('is idempotent for a known key and a not-found error for an unknown one', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('twice'), role: 'viewer' });
      await keys.revoke(created.id);
      at('2026-03-02T00:00:00Z');
      await keys.revoke(created.id);
      expect((await row(created.id)).revoked_at).toEqual(new Date('2026-03-01T12:00:00Z'));

      await expect(keys.revoke('5f0c1e8e-8f43-4a39-9d0e-2a1e6f7b0c11')).rejects.toBeInstanceOf(
        ApiKeyNotFoundError,
      );
      await expect(keys.revoke('not-a-uuid')).rejects.toBeInstanceOf(ApiKeyNotFoundError);
    });
  });

  describe('feed tokens', () => {
    it('belong to one active key and are refused once it is revoked', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('feed'), role: 'viewer' });
      const answer = await keys.feedTokenOf(created.id, created.key);
      if (answer.status !== 'shown') throw new Error(`feed token ${answer.status}`);
      const token = answer.token;
      expect(token).not.toBe(created.key);
      // Shown again, the same; stored only as its SHA-256.
      await expect(keys.feedTokenOf(created.id, created.key)).resolves.toEqual(answer);
      const stored = await row(created.id);
      expect(stored.feed_token_hash).toEqual(createHash('sha256').update(token).digest());
      expect(JSON.stringify(stored)).not.toContain(token);
      await expect(keys.authenticateFeedToken(token)).resolves.toMatchObject({
        keyId: created.id,
      });
      await expect(keys.authenticate(token)).resolves.toBeNull();
      // Another key's secret does not open this key's token.
      const other = await keys.create({ name: uniqueName('other'), role: 'viewer' });
      await expect(keys.feedTokenOf(created.id, other.key)).resolves.toEqual({
        status: 'inactive',
      });
      await expect(keys.rotateFeedToken(created.id, other.key)).resolves.toBeNull();

      await keys.revoke(created.id);
      await expect(keys.authenticateFeedToken(token)).resolves.toBeNull();
      await expect(keys.feedTokenOf(created.id, created.key)).resolves.toEqual({
        status: 'inactive',
      });
      await expect(keys.rotateFeedToken(created.id, created.key)).resolves.toBeNull();
    });

    it('rotate: a new token at once, the old one refused', async () => {
      const keys = service();
      const created = await keys.create({ name: uniqueName('rotate'), role: 'viewer' });
      const before = await keys.feedTokenOf(created.id, created.key);
      if (before.status !== 'shown') throw new Error(`feed token ${before.status}`);
      const after = await keys.rotateFeedToken(created.id, created.key);
      expect(after).toEqual(expect.any(String));
      expect(after).not.toBe(before.token);
      await expect(keys.authenticateFeedToken(before.token)).resolves.toBeNull();
      await expect(keys.authenticateFeedToken(after!)).resolves.toMatchObject({
        keyId: created.id,
      });
      await expect(keys.feedTokenOf(created.id, created.key)).resolves.toEqual({
        status: 'shown',
        token: after,
      });
    });
  });

  describe('bootstrapAdmin', () => {
    const activeBootstrapKeys = async () =>
      (
        await db.pool.query(
          "SELECT id FROM api_keys WHERE name = 'bootstrap-admin' AND revoked_at IS NULL",
        )
      ).rows;

    it('records the key once, replaces it when the secret changes, and survives a race', async () => {
      const first = 'first-admin-secret-0123456789';
      const second = 'second-admin-secret-0123456789';

      const [a, b] = await Promise.all([
        service().bootstrapAdmin(first),
        service().bootstrapAdmin(first),
      ]);
      expect(a.id).toBe(b.id);
      expect([a.created, b.created].sort()).toEqual([false, true]);
      await expect(service().bootstrapAdmin(first)).resolves.toEqual({
        id: a.id,
        created: false,
        revokedId: null,
      });
      expect(await activeBootstrapKeys()).toEqual([{ id: a.id }]);

      const keys = service();
      expect(await keys.authenticate(first)).toMatchObject({
        name: 'bootstrap-admin',
        role: 'admin',
      });
      const rotated = await keys.bootstrapAdmin(second);
      expect(rotated).toMatchObject({ created: true, revokedId: a.id });
      expect(await activeBootstrapKeys()).toEqual([{ id: rotated.id }]);
      expect(await keys.authenticate(first)).toBeNull();
      expect(await keys.authenticate(second)).toMatchObject({ keyId: rotated.id, role: 'admin' });
      expect((await row(rotated.id)).prefix).toBe('(ADMIN_API_KEY)');
    });

    it('hides the characters of ADMIN_API_KEY that bootstrap keys were once listed with', async () => {
      const recorded = await service().bootstrapAdmin('listed-admin-secret-0123456789');
      await db.pool.query("UPDATE api_keys SET prefix = 'list' WHERE id = $1", [recorded.id]);
      const runner = db.dataSource.createQueryRunner();
      try {
        await new HideBootstrapKeyPrefix1764920000000().up(runner);
      } finally {
        await runner.release();
      }
      expect((await row(recorded.id)).prefix).toBe('(ADMIN_API_KEY)');
    });

    it('does not bring back a bootstrap key an admin revoked, on the next start', async () => {
      const leaked = 'leaked-admin-secret-0123456789';
      const keys = service();
      const recorded = await keys.bootstrapAdmin(leaked);
      expect(recorded.created).toBe(true);
      await keys.revoke(recorded.id);

      await expect(service().bootstrapAdmin(leaked)).resolves.toEqual({
        id: recorded.id,
        created: false,
        revokedId: null,
        refusedRevoked: true,
      });
      expect(await service().authenticate(leaked)).toBeNull();
      expect(await activeBootstrapKeys()).toEqual([]);
    });
  });
});
