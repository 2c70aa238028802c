import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { AlertScheduleProjection, AlertsModule } from '@app/alerts';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import {
  createTestDatabase,
  deleteRedisPrefix,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@app/testing';
import {
  ExecuteMeasureAction,
  measureStreamId,
  recordMeasureBody,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { runEntry } from './support/run-process';

const source = { issuer: 'MOFCOM', title: 'Announcement No. 70', official: true };

/**
 * `npm run cli -- alerts:reconcile` with no worker running: the jobs Redis lacks come back
 * (under `REDIS_PREFIX`), and the overdue alert fires in the CLI process — the lapse is recorded.
 */
describe('alerts:reconcile on the command line', () => {
  const prefix = testRedisPrefix('alerts-cli');
  let db: TestDatabase;
  let app: INestApplicationContext;

  beforeAll(async () => {
    db = await createTestDatabase('alerts_cli');
    process.env.DATABASE_URL = db.url;
    process.env.REDIS_PREFIX = prefix;
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
  });
  afterAll(async () => {
    await app?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
  });

  const act = (measure: string | null, action: MeasureAction) =>
    app
      .get(CommandBus)
      .execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
      );

  async function suspensionEndingAt(endsAt: Date) {
    const { id: measureId } = await act(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        title: `Export controls on rare earths ${randomUUID()}`,
        kind: 'export-control',
        imposingParty: 'CN',
        targetParties: ['US'],
        timeZone: 'Asia/Shanghai',
        effectiveAt: '2025-10-09T00:00:00+08:00',
        sources: [source],
      }),
    });
    const { suspensionId } = await act(measureId, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-11-10T00:00:00+08:00',
        endsAt: endsAt.toISOString(),
        sources: [source],
      },
    });
    return { measureId, suspensionId: suspensionId as string };
  }

  it('re-creates missing jobs and fires the overdue alert itself', async () => {
    // Ended a minute ago: its end (PT0S) is overdue. The other one ends next year.
    const overdue = await suspensionEndingAt(new Date(Date.now() - 60_000));
    await suspensionEndingAt(new Date(Date.now() + 400 * 86_400_000));
    const dataSource = app.get(DataSource);
    const events = await app.get(EventStore).readAll(0, 1000);
    await dataSource.transaction((manager) =>
      app.get(AlertScheduleProjection).handle(events.events, manager),
    );

    const result = await runEntry('apps/cli/src/main.ts', ['alerts:reconcile'], {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
    });

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // Default lead times: the future suspension has five pending alerts, the overdue one its end.
    expect(result.stdout).toMatch(
      /6 pending alert\(s\), 1 overdue; 5 job\(s\) re-created in Redis, 1 overdue alert\(s\) fired here/,
    );
    const rows: { suspension_id: string; lead_time: string; state: string }[] =
      await dataSource.query(
        `SELECT suspension_id, lead_time, state FROM alert_schedule
          WHERE state IN ('pending', 'fired') ORDER BY fire_at`,
      );
    expect(rows.filter((row) => row.suspension_id === overdue.suspensionId)).toEqual([
      { suspension_id: overdue.suspensionId, lead_time: 'PT0S', state: 'fired' },
    ]);
    const lapses = (await app.get(EventStore).readStream(measureStreamId(overdue.measureId)))
      .filter((event) => event.type === 'SuspensionLapsed')
      .map((event) => event.metadata.actor);
    expect(lapses).toEqual(['system']);

    const redis = new Redis(testRedisUrl());
    try {
      const delayed = await redis.zcard(`${prefix}:accord-alerts:delayed`);
      expect(delayed).toBe(5);
    } finally {
      redis.disconnect();
    }

    // Run again: nothing is missing any more, nothing fires twice.
    const again = await runEntry('apps/cli/src/main.ts', ['alerts:reconcile'], {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      REDIS_PREFIX: prefix,
    });
    expect(again.stdout).toMatch(/5 pending alert\(s\), 0 overdue; 0 job\(s\) re-created/);
  }, 90_000);
});
