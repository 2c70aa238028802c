import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { createTestDatabase, testRedisPrefix, type TestDatabase } from '@app/testing';
import { ExecuteMeasureAction, type MeasureAction, type WriteResult } from '@app/trade';
import { DataSource } from 'typeorm';
import { AlertsModule } from '../alerts.module';
import { alertId } from './alert-plan';
import { recordTestMeasure, testSource as source } from '../testing/alerts-test-app';
import { AlertScheduleProjection } from './alert-schedule.projection';

interface ScheduleRow {
  id: string;
  suspension_id: string;
  lead_time: string;
  fire_at: Date;
  end_at: Date;
  end_version: string;
  state: string;
  outcome: string | null;
}

describe('AlertScheduleProjection', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let projection: AlertScheduleProjection;
  let dataSource: DataSource;
  let store: EventStore;
  let commandBus: CommandBus;
  let projectedUpTo = 0;

  beforeAll(async () => {
    db = await createTestDatabase('alert_schedule');
    process.env.DATABASE_URL = db.url;
    process.env.ALERT_LEAD_TIMES = 'P90D,P30D,P7D,P1D,PT0S';
    process.env.REDIS_PREFIX = testRedisPrefix('alert-schedule');
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
    projection = app.get(AlertScheduleProjection);
    dataSource = app.get(DataSource);
    store = app.get(EventStore);
    commandBus = app.get(CommandBus);
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  const act = (measure: string | null, action: MeasureAction) =>
    commandBus.execute<ExecuteMeasureAction, WriteResult>(
      new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
    );

  /** Feeds the log since the last call to the projection, one event per transaction. */
  async function project(pageSize = 1): Promise<RecordedEvent[]> {
    const seen: RecordedEvent[] = [];
    for (;;) {
      const page = await store.readAll(projectedUpTo, pageSize);
      if (page.nextAfter === projectedUpTo) return seen;
      await dataSource.transaction((manager) => projection.handle(page.events, manager));
      seen.push(...page.events);
      projectedUpTo = page.nextAfter;
    }
  }

  const newMeasure = () => recordTestMeasure(act);

  async function suspend(measureId: string, startsAt: string, endsAt: string): Promise<string> {
    const result = await act(measureId, {
      action: 'schedule-suspension',
      body: { startsAt, endsAt, sources: [source] },
    });
    return result.suspensionId as string;
  }

  const rows = async (suspensionId: string): Promise<ScheduleRow[]> =>
    dataSource.query(
      `SELECT id, suspension_id, lead_time, fire_at, end_at, end_version, state, outcome
         FROM alert_schedule WHERE suspension_id = $1 ORDER BY end_version, fire_at`,
      [suspensionId],
    );

  const summary = (list: ScheduleRow[]) =>
    list.map((row) => [row.lead_time, row.fire_at.toISOString(), row.state]);

  it('keeps one row per lead time and the end for a suspension with a known end', async () => {
    const measureId = await newMeasure();
    const suspensionId = await suspend(
      measureId,
      new Date(Date.now() - 86_400_000).toISOString(),
      '2030-11-10T05:01:00Z',
    );
    await project();

    const schedule = await rows(suspensionId);
    expect(summary(schedule)).toEqual([
      // 00:01 in New York on 10 November (EST); lead times count back on that clock, so those
      // before 3 November 02:00, when daylight saving time ended in 2030, are 00:01 EDT.
      ['P90D', '2030-08-12T04:01:00.000Z', 'pending'],
      ['P30D', '2030-10-11T04:01:00.000Z', 'pending'],
      ['P7D', '2030-11-03T04:01:00.000Z', 'pending'],
      ['P1D', '2030-11-09T05:01:00.000Z', 'pending'],
      ['PT0S', '2030-11-10T05:01:00.000Z', 'pending'],
    ]);
    const version = Number(schedule[0].end_version);
    expect(schedule.map((row) => row.id)).toEqual(
      ['P90D', 'P30D', 'P7D', 'P1D', 'PT0S'].map((lead) =>
        alertId(measureId, suspensionId, version, lead),
      ),
    );
  });

  it('skips lead times already past when the suspension is recorded, except the end', async () => {
    const measureId = await newMeasure();
    const soon = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const past = await suspend(measureId, '2025-05-01T00:00:00Z', '2025-06-01T00:00:00Z');
    const near = await suspend(measureId, '2025-07-01T00:00:00Z', soon);
    await project();

    expect((await rows(past)).map((row) => [row.lead_time, row.state])).toEqual([
      ['P90D', 'skipped'],
      ['P30D', 'skipped'],
      ['P7D', 'skipped'],
      ['P1D', 'skipped'],
      ['PT0S', 'pending'],
    ]);
    expect((await rows(near)).map((row) => [row.lead_time, row.state])).toEqual([
      ['P90D', 'skipped'],
      ['P30D', 'skipped'],
      ['P7D', 'skipped'],
      ['P1D', 'pending'],
      ['PT0S', 'pending'],
    ]);
  });

  it('cancels the pending alerts of the old end on an extension and schedules the new end', async () => {
    const measureId = await newMeasure();
    const suspensionId = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-11-10T05:01:00Z');
    await project();
    const extension = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: '2031-11-10T05:01:00Z', sources: [source] },
    });
    await project();

    const schedule = await rows(suspensionId);
    const [oldVersion, newVersion] = [...new Set(schedule.map((row) => Number(row.end_version)))];
    expect(newVersion).toBe(extension.version);
    expect(
      schedule.filter((row) => Number(row.end_version) === oldVersion).map((row) => row.state),
    ).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect(schedule.find((row) => row.state === 'cancelled')?.outcome).toBe('cancelled: end-moved');
    expect(
      schedule
        .filter((row) => Number(row.end_version) === newVersion)
        .map((row) => [row.lead_time, row.end_at.toISOString(), row.state]),
    ).toEqual([
      ['P90D', '2031-11-10T05:01:00.000Z', 'pending'],
      ['P30D', '2031-11-10T05:01:00.000Z', 'pending'],
      ['P7D', '2031-11-10T05:01:00.000Z', 'pending'],
      ['P1D', '2031-11-10T05:01:00.000Z', 'pending'],
      ['PT0S', '2031-11-10T05:01:00.000Z', 'pending'],
    ]);
  });

  it('cancels on lifting and revocation, and reschedules the old end when an extension is retracted', async () => {
    const measureId = await newMeasure();
    const lifted = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-11-10T05:01:00Z');
    const extended = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-12-10T05:01:00Z');
    await act(measureId, {
      action: 'lift-suspension',
      suspensionId: lifted,
      body: { effectiveAt: '2026-01-01T00:00:00Z', sources: [source] },
    });
    const extension = await act(measureId, {
      action: 'extend-suspension',
      suspensionId: extended,
      body: { endsAt: '2031-12-10T05:01:00Z', sources: [source] },
    });
    await project();
    expect((await rows(lifted)).map((row) => row.state)).toEqual(Array(5).fill('cancelled'));

    const retraction = await act(measureId, {
      action: 'retract-event',
      body: { eventId: extension.eventIds[0], reason: 'Misread', sources: [source] },
    });
    await project();
    const afterRetraction = (await rows(extended)).filter(
      (row) => Number(row.end_version) === retraction.version,
    );
    expect(afterRetraction.map((row) => [row.end_at.toISOString(), row.state])).toEqual(
      Array(5).fill(['2030-12-10T05:01:00.000Z', 'pending']),
    );
    expect(
      (await rows(extended)).filter((row) => row.state === 'pending').map((r) => r.end_version),
    ).toEqual(Array(5).fill(String(retraction.version)));

    await act(measureId, {
      action: 'revoke-measure',
      body: { effectiveAt: '2026-02-01T00:00:00Z', sources: [source] },
    });
    await project();
    expect((await rows(extended)).filter((row) => row.state === 'pending')).toEqual([]);
  });

  it('is idempotent: replaying the log, in pages of any size, changes no row', async () => {
    const measureId = await newMeasure();
    const suspensionId = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-11-10T05:01:00Z');
    await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { duration: 'P90D', sources: [source] },
    });
    await project();
    const before = await dataSource.query('SELECT * FROM alert_schedule ORDER BY id');
    const ends = await dataSource.query('SELECT * FROM alert_suspension_ends ORDER BY 1, 2');

    projectedUpTo = 0;
    await project(7);
    projectedUpTo = 0;
    await project(1000);

    expect(await dataSource.query('SELECT * FROM alert_schedule ORDER BY id')).toEqual(before);
    expect(await dataSource.query('SELECT * FROM alert_suspension_ends ORDER BY 1, 2')).toEqual(
      ends,
    );
  });

  it('builds the same schedule whether the log comes one event or a thousand at a time', async () => {
    const one = await dataSource.query(
      `SELECT id, lead_time, fire_at, end_version, state FROM alert_schedule ORDER BY id`,
    );
    await dataSource.query('TRUNCATE alert_schedule, alert_suspension_ends, alert_measures');
    projectedUpTo = 0;
    await project(1000);
    // States differ only where time has passed between the runs (none of these do).
    expect(
      await dataSource.query(
        `SELECT id, lead_time, fire_at, end_version, state FROM alert_schedule ORDER BY id`,
      ),
    ).toEqual(one);
  });

  it('adds the lead times enabled subscriptions ask for, and dispatches suspension.extended', async () => {
    const subscriptionId = randomUUID();
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, lead_times, secret, created_at, updated_at)
       VALUES ($1, 'https://example.org/hook', '{suspension.*}', '{P14D}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
    try {
      const measureId = await newMeasure();
      const suspensionId = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-11-10T05:01:00Z');
      const extension = await act(measureId, {
        action: 'extend-suspension',
        suspensionId,
        body: { endsAt: '2031-11-10T05:01:00Z', sources: [source] },
      });
      await project();

      const pending = (await rows(suspensionId)).filter((row) => row.state === 'pending');
      expect(pending.map((row) => row.lead_time)).toEqual([
        'P90D',
        'P30D',
        'P14D',
        'P7D',
        'P1D',
        'PT0S',
      ]);
      const deliveries: { message_key: string; event_type: string; payload: unknown }[] =
        await dataSource.query(
          `SELECT d.message_key, d.event_type, m.payload
             FROM webhook_deliveries d JOIN webhook_messages m USING (message_key)
            WHERE d.subscription_id = $1`,
          [subscriptionId],
        );
      expect(deliveries).toEqual([
        {
          message_key: `event:${extension.eventIds[0]}`,
          event_type: 'suspension.extended',
          payload: expect.objectContaining({
            type: 'suspension.extended',
            data: expect.objectContaining({
              measure: expect.objectContaining({ id: measureId, parties: ['US', 'CN'] }),
              suspension: expect.objectContaining({
                id: suspensionId,
                endsAt: '2031-11-10T05:01:00.000Z',
              }),
              previousEndsAt: '2030-11-10T05:01:00.000Z',
            }),
          }),
        },
      ]);

      // Replayed, the extension is not dispatched again.
      projectedUpTo = 0;
      await project(1000);
      expect(await dataSource.query('SELECT count(*)::int AS n FROM webhook_deliveries')).toEqual([
        { n: 1 },
      ]);
    } finally {
      await dataSource.query('DELETE FROM webhook_subscriptions WHERE id = $1', [subscriptionId]);
    }
  });

  it('dispatches no suspension.extended for an extension recorded after the suspension was lifted', async () => {
    const subscriptionId = randomUUID();
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
       VALUES ($1, 'https://example.org/hook', '{suspension.*}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
    try {
      const measureId = await newMeasure();
      const suspensionId = await suspend(measureId, '2025-11-10T05:01:00Z', '2030-11-10T05:01:00Z');
      await act(measureId, {
        action: 'lift-suspension',
        suspensionId,
        body: { effectiveAt: '2026-03-01T05:00:00Z', sources: [source] },
      });
      // Decided before the lifting, recorded after it: the domain takes it, the lifting stands.
      await act(measureId, {
        action: 'extend-suspension',
        suspensionId,
        body: {
          endsAt: '2031-11-10T05:01:00Z',
          effectiveAt: '2026-02-01T05:00:00Z',
          sources: [source],
        },
      });
      await project();
      const sent: { event_type: string }[] = await dataSource.query(
        'SELECT event_type FROM webhook_deliveries WHERE subscription_id = $1',
        [subscriptionId],
      );
      expect(sent.map((row) => row.event_type)).not.toContain('suspension.extended');
      expect((await rows(suspensionId)).filter((row) => row.state === 'pending')).toEqual([]);
    } finally {
      await dataSource.query('DELETE FROM webhook_subscriptions WHERE id = $1', [subscriptionId]);
    }
  });
});
