import { createServer, type AddressInfo } from 'node:net';
import { EventStore } from '@app/event-store';
import { createTestDatabase, testRedisUrl, type TestDatabase } from '@app/testing';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';
import { runEntry } from './support/run-process';
import { LEAD_TIME_RULE } from '@app/domain';

/** Read before the health tests point REDIS_URL elsewhere. */
const TEST_REDIS = testRedisUrl();

describe('foundation, end to end', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_foundation');
  });
  afterAll(async () => {
    await db.drop();
  });

  describe('health', () => {
    let app: NestFastifyApplication;
    afterEach(async () => {
      await app?.close();
    });

    async function startApi(env: Record<string, string>): Promise<NestFastifyApplication> {
      Object.assign(process.env, { DATABASE_URL: db.url, LOG_LEVEL: 'error' }, env);
      app = await createApi();
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      return app;
    }

    it('is live and ready when PostgreSQL, Redis and the migrations are', async () => {
      await startApi({ REDIS_URL: 'redis://127.0.0.1:6379' });
      await request(app.getHttpServer()).get('/health/live').expect(200, { status: 'ok' });
      const ready = await request(app.getHttpServer()).get('/health/ready').expect(200);
      expect(ready.body).toEqual({
        status: 'ok',
        checks: {
          postgres: { status: 'up' },
          redis: { status: 'up' },
          migrations: { status: 'up' },
        },
      });
    });

    it('is live but not ready when Redis cannot be reached', async () => {
      await startApi({ REDIS_URL: 'redis://127.0.0.1:1' });
      await request(app.getHttpServer()).get('/health/live').expect(200);
      const ready = await request(app.getHttpServer()).get('/health/ready').expect(503);
      expect(ready.body.status).toBe('unavailable');
      expect(ready.body.checks.redis.status).toBe('down');
      expect(ready.body.checks.postgres.status).toBe('up');
    });
  });

  describe('start-up configuration', () => {
    const ENTRIES = [['apps/api/src/main.ts'], ['apps/worker/src/main.ts']];

    it('refuses to start with a clear message for each malformed variable', async () => {
      const result = await runEntry('apps/api/src/main.ts', [], {
        DATABASE_URL: 'mysql://nowhere/accord',
        PORT: 'eighty',
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Invalid configuration');
      expect(result.stderr).toContain('DATABASE_URL: must be a URL starting with postgres://');
      expect(result.stderr).toContain(
        '  - PORT: must be a port number, an integer from 1 to 65535\n',
      );
    });

    it('refuses alert lead times no alert could be scheduled at', async () => {
      const result = await runEntry(
        'apps/api/src/main.ts',
        [],
        { DATABASE_URL: db.url, ALERT_LEAD_TIMES: 'P30D,P20Y,P-1D', LOG_LEVEL: 'fatal' },
        60_000,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `ALERT_LEAD_TIMES: P20Y, P-1D must be durations ${LEAD_TIME_RULE}`,
      );
    }, 90_000);

    it.each(ENTRIES)(
      '%s lists unschedulable lead times with every other bad variable, without a stack',
      async (entry) => {
        const result = await runEntry(
          entry,
          [],
          { DATABASE_URL: db.url, ALERT_LEAD_TIMES: '-P1D', LOG_LEVEL: 'info' },
          60_000,
        );
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          'Invalid configuration:',
          `  - ALERT_LEAD_TIMES: -P1D must be a duration ${LEAD_TIME_RULE}`,
          expect.stringMatching(/^ {2}- LOG_LEVEL: /),
        ]);
      },
      90_000,
    );

    it.each(ENTRIES)(
      '%s says in one line that PostgreSQL cannot be reached',
      async (entry) => {
        const result = await runEntry(
          entry,
          [],
          { DATABASE_URL: 'postgres://root@127.0.0.1:1/accord_nowhere', LOG_LEVEL: 'warn' },
          60_000,
        );
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          'Cannot connect to PostgreSQL at 127.0.0.1:1 (ECONNREFUSED): check that it runs and that DATABASE_URL points at it.',
        ]);
      },
      90_000,
    );

    it.each(ENTRIES)(
      '%s says in one line that PostgreSQL refuses its role',
      async (entry) => {
        const url = new URL(db.url);
        url.username = 'accord_no_such_role';
        const result = await runEntry(
          entry,
          [],
          { DATABASE_URL: url.toString(), LOG_LEVEL: 'warn' },
          60_000,
        );
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          'PostgreSQL refused the connection: role "accord_no_such_role" does not exist (28000); check the user, password and database in DATABASE_URL.',
        ]);
      },
      90_000,
    );

    it('neither the api nor the worker starts on a database a newer version migrated', async () => {
      const newer = await createTestDatabase('e2e_newer_database');
      try {
        await newer.pool.query(
          `INSERT INTO migrations (timestamp, name) VALUES (1999999999999, 'FromANewerAccord1999999999999')`,
        );
        for (const [entry] of ENTRIES) {
          const result = await runEntry(
            entry,
            [],
            { DATABASE_URL: newer.url, LOG_LEVEL: 'warn' },
            60_000,
          );
          expect({ entry, code: result.code }).toEqual({ entry, code: 1 });
          // One line, as it is: no stack, not under "Invalid configuration".
          expect(result.stderr.trim().split('\n')).toEqual([
            expect.stringMatching(
              /^The database at .* was migrated by a newer version of Accord \(migrations this version does not know: FromANewerAccord1999999999999\)/,
            ),
          ]);
        }
      } finally {
        await newer.drop();
      }
    }, 120_000);

    it.each(ENTRIES)(
      '%s does not start on a Redis database the server refuses',
      async (entry) => {
        const refused = `${TEST_REDIS.replace(/\/\d*$/, '')}/65535`;
        const result = await runEntry(
          entry,
          [],
          { DATABASE_URL: db.url, REDIS_URL: refused, LOG_LEVEL: 'warn' },
          60_000,
        );
        expect(result.code).toBe(1);
        expect(result.stderr.trim().split('\n')).toEqual([
          'Invalid configuration:',
          `  - REDIS_URL: Redis at ${refused} refuses database 65535: ERR DB index is out of range`,
        ]);
      },
      90_000,
    );

    it('says in one line, without a stack, that its port is taken', async () => {
      const holder = createServer();
      await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
      const port = (holder.address() as AddressInfo).port;
      try {
        const result = await runEntry(
          'apps/api/src/main.ts',
          [],
          { DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'error' },
          60_000,
        );
        expect(result.code).toBe(1);
        // Ours only: Nest does not log the failed listen first, and there is no stack.
        expect(result.stderr.trim().split('\n')).toEqual([
          `Cannot listen: address already in use 0.0.0.0:${port} (another process holds the port)`,
        ]);
      } finally {
        await new Promise((resolve) => holder.close(resolve));
      }
    }, 90_000);
  });

  describe('npm run cli -- verify', () => {
    it('reports intact chains, then the first broken link after tampering', async () => {
      const store = new EventStore(db.pool);
      await store.append('measure-cli-a', [
        { type: 'MeasureAnnounced', payload: { rate: 34 } },
        { type: 'MeasureImplemented', payload: {} },
      ]);
      await store.append('measure-cli-b', [{ type: 'MeasureAnnounced', payload: { rate: 10 } }]);
      await store.close();

      const intact = await runEntry('apps/cli/src/main.ts', ['verify'], { DATABASE_URL: db.url });
      expect(intact.stdout).toContain('All hash chains hold: 3 events in 2 streams');
      expect(intact.code).toBe(0);

      await db.pool.query(`
        BEGIN;
        ALTER TABLE events DISABLE TRIGGER events_immutable;
        UPDATE events SET payload = '{"rate": 24}' WHERE stream_id = 'measure-cli-a' AND version = 1;
        ALTER TABLE events ENABLE TRIGGER events_immutable;
        COMMIT;`);
      const broken = await runEntry('apps/cli/src/main.ts', ['verify'], { DATABASE_URL: db.url });
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('Broken hash chain: stream measure-cli-a at version 1');
      expect(broken.stderr).toContain('hash-mismatch');
    });

    it('reports the newest events of a stream deleted, which leave its chain whole', async () => {
      const store = new EventStore(db.pool);
      await store.append('measure-cli-tail', [{ type: 'MeasureAnnounced', payload: {} }]);
      const tail = await store.append(
        'measure-cli-tail',
        [{ type: 'MeasureImplemented', payload: {} }],
        { commandId: 'cli-tail-implemented' },
      );
      await store.close();
      await db.pool.query(`
        BEGIN;
        ALTER TABLE events DISABLE TRIGGER ALL;
        DELETE FROM events WHERE stream_id = 'measure-cli-tail' AND version = 2;
        ALTER TABLE events ENABLE TRIGGER ALL;
        COMMIT;`);
      // The other stream's link is still broken from the test before: repair it out of the way.
      await db.pool.query(`
        BEGIN;
        ALTER TABLE events DISABLE TRIGGER ALL;
        DELETE FROM events WHERE stream_id = 'measure-cli-a';
        ALTER TABLE events ENABLE TRIGGER ALL;
        COMMIT;`);
      const result = await runEntry('apps/cli/src/main.ts', ['verify'], { DATABASE_URL: db.url });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `Events missing: command cli-tail-implemented recorded positions ${tail.positions[0]}`,
      );
      expect(result.stderr).toContain('in stream measure-cli-tail');
    });

    it("reports the log's newest events deleted, written without an Idempotency-Key", async () => {
      const own = await createTestDatabase('e2e_verify_tail');
      try {
        const store = new EventStore(own.pool);
        await store.append('measure-cli-kept', [{ type: 'MeasureAnnounced', payload: {} }]);
        const newest = await store.append('measure-cli-kept', [
          { type: 'MeasureImplemented', payload: {} },
        ]);
        await store.close();
        // A consumer that has read the whole log, as a projection's runner would have.
        await own.pool.query(
          `INSERT INTO subscription_checkpoints (name, position) VALUES ('projection:audit', $1)`,
          [newest.positions[0]],
        );
        await own.pool.query(`
          BEGIN;
          ALTER TABLE events DISABLE TRIGGER ALL;
          DELETE FROM events WHERE stream_id = 'measure-cli-kept' AND version = 2;
          ALTER TABLE events ENABLE TRIGGER ALL;
          COMMIT;`);
        const result = await runEntry('apps/cli/src/main.ts', ['verify'], {
          DATABASE_URL: own.url,
        });
        expect(result.stderr).toContain(
          `Events missing: projection:audit has read up to global position ${newest.positions[0]},` +
            ` but the log ends at ${newest.positions[0] - 1}`,
        );
        expect(result.code).toBe(1);
      } finally {
        await own.drop();
      }
    });
  });
});
