import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  testRedisUrl,
  WebhookReceiver,
  type TestDatabase,
} from '@app/testing';
import {
  ExecuteMeasureAction,
  measureStreamId,
  recordMeasureBody,
  TradeModule,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { startWorker, type WorkerProcess } from './support/worker-process';

const source = { issuer: 'The White House', title: 'Executive Order 14358', official: true };

interface AlertRow {
  id: string;
  suspension_id: string;
  lead_time: string;
  state: string;
  fire_at: Date;
  fired_at: Date | null;
}

/**
 * Issue 5, "Chaos": with alerts due seconds ahead, (a) the Redis keys are flushed, (b) the worker
 * process is killed with SIGKILL while a burst of alerts is being fired and started again, and
 * (c) Redis "restarts" — every key of this run's prefix deleted and the worker's named
 * connections killed (CLIENT KILL), rather than restarting the machine's shared redis-server,
 * which other suites use. Every due alert must still fire exactly once and be dispatched once per
 * subscription — and received by a real HTTP receiver on loopback at least once per (alert,
 * subscription) `webhook-id` — and no alert cancelled by an extension may fire or be sent.
 */
describe('Expiry alerts through a flush, a killed worker and a Redis restart', () => {
  const prefix = testRedisPrefix('alerts-chaos');
  let db: TestDatabase;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let commandBus: CommandBus;
  let worker: WorkerProcess | undefined;
  let workerEnv: Record<string, string>;
  const subscriptions = [randomUUID(), randomUUID()];
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    db = await createTestDatabase('alerts_chaos');
    process.env.DATABASE_URL = db.url;
    process.env.REDIS_PREFIX = prefix;
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule,
        DatabaseModule.forRoot({ migrations: allMigrations, migrate: false, applicationName: 't' }),
        CqrsModule.forRoot(),
        TradeModule,
      ],
    }).compile();
    moduleRef.useLogger(['error']);
    app = await moduleRef.init();
    dataSource = app.get(DataSource);
    commandBus = app.get(CommandBus);
    receiver = await WebhookReceiver.start();
    for (const id of subscriptions) {
      await dataSource.query(
        `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
         VALUES ($1, $2, '{suspension.*}', $3, now(), now())`,
        [id, receiver.url(`/${id}`), `whsec_${randomBytes(24).toString('base64')}`],
      );
    }
    workerEnv = {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
      ALERT_LEAD_TIMES: 'PT6S,PT3S,PT0S',
      SUBSCRIPTION_POLL_MS: '100',
      ALERT_RELAY_POLL_MS: '200',
      ALERT_WATCHDOG_MS: '500',
      ALERT_RECONCILE_EVERY_MS: '5000',
      // A job held by the killed worker is taken over once its lock runs out.
      ALERT_JOB_LOCK_MS: '3000',
      // The receiver is on loopback; retries are quick.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      WEBHOOK_RELAY_POLL_MS: '100',
      WEBHOOK_RETRY_BASE_MS: '200',
      LOG_LEVEL: 'log',
    };
  });

  afterAll(async () => {
    if (worker && worker.child.exitCode === null) {
      worker.child.kill('SIGTERM');
      const timer = setTimeout(() => worker?.child.kill('SIGKILL'), 10_000);
      await worker.exited;
      clearTimeout(timer);
    }
    await app?.close();
    await receiver?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
  });

  const act = (measure: string | null, action: MeasureAction) =>
    commandBus.execute<ExecuteMeasureAction, WriteResult>(
      new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
    );

  async function suspensionEndingAt(end: number) {
    const { id: measureId } = await act(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        title: `Fentanyl tariff ${randomUUID()}`,
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN', 'HK'],
        rate: { type: 'ad-valorem', percent: 20 },
        timeZone: 'America/New_York',
        effectiveAt: '2025-02-04T05:01:00Z',
        sources: [source],
      }),
    });
    const { suspensionId } = await act(measureId, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-11-10T05:01:00Z',
        endsAt: new Date(end).toISOString(),
        part: { percentPoints: 10 },
        sources: [source],
      },
    });
    return { measureId, suspensionId: suspensionId as string };
  }

  async function restartWorker(): Promise<void> {
    worker = startWorker(workerEnv);
    await worker.ready();
  }

  it('fires every due alert exactly once and never one that an extension cancelled', async () => {
    await restartWorker();
    const t0 = Date.now();
    // Alerts every few seconds from t0 + 7 s to t0 + 26 s, and a burst due together at t0 + 13 s
    // (their ends), when the worker is killed.
    const lapsing = [];
    for (const offset of [14_000, 18_000, 22_000, 26_000]) {
      lapsing.push(await suspensionEndingAt(t0 + offset));
    }
    for (let i = 0; i < 12; i += 1) lapsing.push(await suspensionEndingAt(t0 + 13_000));
    const moved = await suspensionEndingAt(t0 + 16_000);
    await act(moved.measureId, {
      action: 'extend-suspension',
      suspensionId: moved.suspensionId,
      body: { endsAt: new Date(t0 + 3_600_000).toISOString(), sources: [source] },
    });

    // (a) Redis loses every key of this run while alerts are pending.
    await until(t0 + 9000);
    expect(await deleteRedisPrefix(prefix)).toBeGreaterThan(0);

    // (b) SIGKILL while the burst is firing; the worker is started again.
    await until(t0 + 13_100);
    worker!.child.kill('SIGKILL');
    await worker!.exited;
    await restartWorker();

    // (c) Redis "restarts": keys gone and the worker's connections dropped.
    await until(Math.max(Date.now() + 1000, t0 + 23_000));
    await deleteRedisPrefix(prefix);
    await killConnections(prefix);

    const lapsingIds = lapsing.map((s) => s.suspensionId);
    const fired = await eventually(
      async () => {
        const rows = await alertsOf(lapsingIds);
        expect(rows.filter((row) => row.state !== 'fired')).toEqual([]);
        return rows;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    // Every due alert fired, once: three per suspension, one lapse each, by the system.
    expect(fired).toHaveLength(lapsing.length * 3);
    for (const { measureId, suspensionId } of lapsing) {
      const events = await app.get(EventStore).readStream(measureStreamId(measureId));
      const lapses = events.filter((event) => event.type === 'SuspensionLapsed');
      expect(lapses.map((event) => [event.payload.suspensionId, event.metadata.actor])).toEqual([
        [suspensionId, 'system'],
      ]);
    }
    // Dispatched once per (alert, subscription), with one stable webhook-id each.
    const expected = fired.flatMap((row) => [
      `alert:${row.id}`,
      ...(row.lead_time === 'PT0S' ? [`alert:${row.id}:lapsed`] : []),
    ]);
    const deliveries: { message_key: string; subscription_id: string; webhook_id: string }[] =
      await dataSource.query(
        `SELECT message_key, subscription_id, webhook_id FROM webhook_deliveries
          WHERE message_key = ANY($1)`,
        [expected],
      );
    expect(deliveries).toHaveLength(expected.length * subscriptions.length);
    expect(new Set(deliveries.map((d) => `${d.subscription_id}/${d.webhook_id}`)).size).toBe(
      deliveries.length,
    );
    for (const key of expected) {
      expect(
        deliveries
          .filter((d) => d.message_key === key)
          .map((d) => d.subscription_id)
          .sort(),
      ).toEqual([...subscriptions].sort());
    }

    // Received at least once per (alert, subscription) webhook-id, on that subscription's path.
    await eventually(
      () => {
        for (const delivery of deliveries) {
          const ids = receiver
            .on(`/${delivery.subscription_id}`)
            .map((request) => request.headers['webhook-id']);
          expect(ids).toContain(delivery.webhook_id);
        }
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    // The schedule shows when each alert was first delivered (copied by the reconciler's runs).
    await eventually(
      async () => {
        const undelivered: unknown[] = await dataSource.query(
          `SELECT id FROM alert_schedule WHERE id = ANY($1) AND delivered_at IS NULL`,
          [fired.map((row) => row.id)],
        );
        expect(undelivered).toEqual([]);
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );

    // The extended suspension: its first alerts were cancelled and none of them fired.
    const movedRows = await alertsOf([moved.suspensionId]);
    const cancelled = movedRows.filter((row) => row.state === 'cancelled');
    expect(cancelled.map((row) => row.lead_time)).toEqual(['PT6S', 'PT3S', 'PT0S']);
    expect(cancelled.every((row) => row.fired_at === null)).toBe(true);
    expect(movedRows.filter((row) => row.state === 'pending')).toHaveLength(3);
    const notSent: unknown[] = await dataSource.query(
      `SELECT 1 FROM webhook_deliveries WHERE message_key = ANY($1)`,
      [cancelled.flatMap((row) => [`alert:${row.id}`, `alert:${row.id}:lapsed`])],
    );
    expect(notSent).toEqual([]);
    // Of the extended suspension, subscribers only heard of its extension.
    const heard = receiver.requests
      .filter((request) => request.body.includes(moved.suspensionId))
      .map((request) => `${request.path} ${JSON.parse(request.body).type}`);
    expect(new Set(heard)).toEqual(
      new Set(subscriptions.map((id) => `/${id} suspension.extended`)),
    );
    const movedEvents = await app.get(EventStore).readStream(measureStreamId(moved.measureId));
    expect(movedEvents.filter((event) => event.type === 'SuspensionLapsed')).toEqual([]);
  }, 180_000);

  const alertsOf = (suspensionIds: string[]): Promise<AlertRow[]> =>
    dataSource.query(
      `SELECT id, suspension_id, lead_time, state, fire_at, fired_at FROM alert_schedule
        WHERE suspension_id = ANY($1) ORDER BY suspension_id, end_version, fire_at`,
      [suspensionIds],
    );
});

function until(instant: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now())));
}

/** Drops the connections this run's processes named after its prefix (BullMQ names its own). */
async function killConnections(prefix: string): Promise<number> {
  const redis = new Redis(testRedisUrl());
  try {
    const list = (await redis.client('LIST')) as string;
    let killed = 0;
    for (const line of list.split('\n')) {
      const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
      const name = /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '';
      if (id && name.startsWith(`${prefix}:`)) {
        await redis.client('KILL', 'ID', id);
        killed += 1;
      }
    }
    return killed;
  } finally {
    redis.disconnect();
  }
}
