import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import { CuttableRedis } from './support/cuttable-redis';
import { freePort } from './support/free-port';
import { startWorker, type WorkerProcess } from './support/worker-process';

/**
 * The worker has no HTTP app; an orchestrator still needs to know whether it is alive and can
 * work. Beside its metrics on `WORKER_METRICS_PORT` it answers the api's health checks.
 */
describe('the worker health checks', () => {
  let db: TestDatabase;
  let redis: CuttableRedis;
  let worker: WorkerProcess | undefined;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_worker_health');
    redis = await CuttableRedis.start();
  });
  afterAll(async () => {
    if (worker?.child.exitCode === null) {
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    await redis.close();
    await db.drop();
  });

  it('answers live and ready beside /metrics, and not ready while Redis is away', async () => {
    const port = await freePort();
    worker = startWorker({
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      WORKER_METRICS_PORT: String(port),
    });
    await worker.ready();
    const base = `http://127.0.0.1:${port}`;
    const get = async (path: string) => {
      const response = await fetch(`${base}${path}`);
      return { status: response.status, body: await response.text() };
    };

    expect(await get('/health/live')).toEqual({ status: 200, body: '{"status":"ok"}' });
    const ready = await get('/health/ready?cache-buster=1');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ok',
      checks: { postgres: { status: 'up' }, redis: { status: 'up' }, migrations: { status: 'up' } },
    });
    expect((await get('/metrics')).body).toContain('accord_subscription_position');

    await redis.cut();
    await eventually(async () => {
      const away = await get('/health/ready');
      expect(away.status).toBe(503);
      expect(JSON.parse(away.body)).toMatchObject({
        status: 'unavailable',
        checks: { postgres: { status: 'up' }, redis: { status: 'down' } },
      });
    });
    // Alive all the same: restarting it would not bring Redis back.
    expect((await get('/health/live')).status).toBe(200);

    await redis.restore();
    await eventually(async () => expect((await get('/health/ready')).status).toBe(200), {
      timeoutMs: 15_000,
    });

    // A newer version migrated the database under it: not ready (an old replica left running
    // through an upgrade shows up here instead of answering from a schema it does not know).
    await db.pool.query(
      `INSERT INTO migrations (timestamp, name) VALUES (1999999999999, 'FromANewerAccord1999999999999')`,
    );
    const newer = await get('/health/ready');
    expect(newer.status).toBe(503);
    expect(JSON.parse(newer.body)).toMatchObject({
      checks: {
        migrations: {
          status: 'down',
          error: 'migrated by a newer version of Accord (FromANewerAccord1999999999999)',
        },
      },
    });
    await db.pool.query(`DELETE FROM migrations WHERE name = 'FromANewerAccord1999999999999'`);
    expect((await get('/health/ready')).status).toBe(200);
  });
});
