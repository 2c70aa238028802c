import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { allMigrations } from '@app/migrations';
import { alertJobId } from '@app/queues';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  type TestDatabase,
} from '@app/testing';
import { DataSource } from 'typeorm';
import { AlertsModule } from '../alerts.module';
import { ALERT_QUEUE, fireJob, type AlertQueue } from '../queue/alert-queue';
import { AlertReconciler } from './alert-reconciler';

/**
 * The reconciler's background passes on PostgreSQL and Redis, with no worker consuming the queue:
 * a fire job added here stays waiting until the test takes it away.
 */
describe('AlertReconciler in the background', () => {
  const prefix = testRedisPrefix('alert-reconciler');
  let db: TestDatabase;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let queue: AlertQueue;
  let reconciler: AlertReconciler;

  beforeAll(async () => {
    db = await createTestDatabase('alert_reconciler');
    Object.assign(process.env, { DATABASE_URL: db.url, REDIS_PREFIX: prefix });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule,
        DatabaseModule.forRoot({ migrations: allMigrations, migrate: false, applicationName: 't' }),
        CqrsModule.forRoot(),
        AlertsModule,
      ],
    }).compile();
    moduleRef.useLogger(['error']);
    app = await moduleRef.init();
    dataSource = app.get(DataSource);
    queue = app.get<AlertQueue>(ALERT_QUEUE);
    reconciler = app.get(AlertReconciler);
  });
  afterAll(async () => {
    await app?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
  });

  /** Pending alerts due in a day whose jobs Redis does not have. */
  async function pendingWithoutJobs(count: number): Promise<string[]> {
    const ids = Array.from({ length: count }, () => randomUUID());
    const fireAt = new Date(Date.now() + 86_400_000);
    await dataSource.query(
      `INSERT INTO alert_schedule (id, measure_id, suspension_id, lead_time, fire_at, end_at,
                                   end_version, state, created_position)
       SELECT id, gen_random_uuid(), gen_random_uuid()::text, 'P1D', $2, $2::timestamptz + interval '1 day',
              2, 'pending', 1
         FROM unnest($1::uuid[]) AS id`,
      [ids, fireAt],
    );
    return ids;
  }

  const jobsOf = async (ids: string[]) =>
    (await Promise.all(ids.map((id) => queue.getJob(alertJobId(id, 2))))).filter(Boolean);

  /** A fire job ready to run (no delay): what a burst of due alerts leaves waiting. */
  async function waitingFireJob(): Promise<string> {
    const id = randomUUID();
    const job = fireJob(
      { id, end_version: 1, fire_at: new Date(0), lead_time: 'PT0S' },
      new Date(),
    );
    await queue.add(job.name, job.data, job.opts);
    return job.opts.jobId;
  }

  it('gives way to fire jobs waiting to run, then puts the missing jobs back', async () => {
    const ids = await pendingWithoutJobs(3);
    const waiting = await waitingFireJob();

    const pass = reconciler.reconcile({ background: true });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await jobsOf(ids)).toHaveLength(0);

    // The waiting job is taken (by a worker, here by the test): the pass goes on at once.
    await queue.remove(waiting);
    await eventually(async () => expect(await jobsOf(ids)).toHaveLength(3), { timeoutMs: 1000 });
    expect(await pass).toMatchObject({ recreated: 3 });
  });

  it('never waits for long: a queue that stays busy only slows a pass down', async () => {
    const ids = await pendingWithoutJobs(2);
    const waiting = await waitingFireJob();
    try {
      const started = Date.now();
      expect(await reconciler.reconcile({ background: true })).toMatchObject({ recreated: 2 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
      expect(await jobsOf(ids)).toHaveLength(2);
    } finally {
      await queue.remove(waiting);
    }
  });

  it('skips a periodic pass while another full pass runs in the process', async () => {
    const ids = await pendingWithoutJobs(2);
    const waiting = await waitingFireJob();
    // A background pass giving way to the waiting job: running, nothing restored yet.
    const running = reconciler.reconcile({ background: true });
    expect(await reconciler.reconcile({ unlessRunning: true })).toMatchObject({
      skipped: true,
      recreated: 0,
    });
    // A pass for what is due soon is never skipped (nothing is due soon here).
    expect(
      await reconciler.reconcile({ until: new Date(Date.now() + 60_000), unlessRunning: true }),
    ).toMatchObject({ pending: 0 });
    expect(await jobsOf(ids)).toHaveLength(0);
    await queue.remove(waiting);
    expect(await running).toMatchObject({ recreated: 2 });

    // Once it has finished, the periodic pass runs again.
    await queue.remove(alertJobId(ids[0], 2));
    expect(await reconciler.reconcile({ unlessRunning: true })).toMatchObject({ recreated: 1 });
  });
});
