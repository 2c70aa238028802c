import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ACCORD_CONFIG, ConfigModule, loadConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import {
  createTestDatabase,
  deleteRedisPrefix,
  testRedisPrefix,
  type TestDatabase,
} from '@app/testing';
import {
  ExecuteMeasureAction,
  recordMeasureBody,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ALERT_CLOCK, type AlertClock } from '../alert-clock';
import { AlertsModule } from '../alerts.module';
import { ALERT_QUEUE, type AlertQueue } from '../queue/alert-queue';
import { AlertScheduleProjection } from '../schedule/alert-schedule.projection';

/** A clock a test moves by hand: `at` is the instant `now()` answers. */
export interface TestClock extends AlertClock {
  at: number;
}

/**
 * `AlertsModule` on a fresh database of its own and a Redis prefix of its own, with the test's
 * clock, for the alerts lib's integration tests. The worker's runners do not run: `project`
 * feeds the schedule projection by hand.
 */
export interface AlertsTestApp {
  db: TestDatabase;
  app: INestApplicationContext;
  dataSource: DataSource;
  store: EventStore;
  commandBus: CommandBus;
  clock: TestClock;
  /** A measure command as an editor sends it. */
  act(measure: string | null, action: MeasureAction): Promise<WriteResult>;
  /**
   * Feeds the log up to its head to the schedule projection, as the worker's runner does (a gap
   * left by a lost append race is passed on a later read, once settled).
   */
  project(): Promise<void>;
  close(): Promise<void>;
}

export async function startAlertsTestApp(
  label: string,
  env: Record<string, string> = {},
): Promise<AlertsTestApp> {
  const prefix = testRedisPrefix(label);
  const db = await createTestDatabase(label);
  // The configuration as the process would load it from these variables, without touching the
  // environment other test files share.
  const config = loadConfig({
    DATABASE_URL: db.url,
    ALERT_LEAD_TIMES: 'PT0S',
    REDIS_PREFIX: prefix,
    LOG_LEVEL: 'error',
    ...env,
  });
  const clock: TestClock = { at: Date.now(), now: () => new Date(clock.at) };
  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule,
      DatabaseModule.forRoot({ migrations: allMigrations, migrate: false, applicationName: 't' }),
      CqrsModule.forRoot(),
      AlertsModule,
    ],
  })
    .overrideProvider(ACCORD_CONFIG)
    .useValue(config)
    .overrideProvider(ALERT_CLOCK)
    .useValue(clock)
    .compile();
  moduleRef.useLogger(['error']);
  const app = await moduleRef.init();
  const dataSource = app.get(DataSource);
  const store = app.get(EventStore);
  const commandBus = app.get(CommandBus);
  let projectedUpTo = 0;
  return {
    db,
    app,
    dataSource,
    store,
    commandBus,
    clock,
    act: (measure, action) =>
      commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
      ),
    async project() {
      const head = await store.headPosition();
      while (projectedUpTo < head) {
        const page = await store.readAll(projectedUpTo, 500);
        if (page.nextAfter === projectedUpTo) {
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        await dataSource.transaction((manager) =>
          app.get(AlertScheduleProjection).handle(page.events, manager),
        );
        projectedUpTo = page.nextAfter;
      }
    },
    async close() {
      // The queue writes its meta key once connected, on its own: a command after it on the same
      // connection lets that write land before the prefix is deleted (under load it came after,
      // and stayed).
      await app.get<AlertQueue>(ALERT_QUEUE).count();
      await app.close();
      await deleteRedisPrefix(prefix);
      await db.drop();
    },
  };
}

/** The source the alerts tests cite. */
export const testSource = {
  issuer: 'The White House',
  title: 'Executive Order 14358',
  official: true,
};

type Act = (measure: string | null, action: MeasureAction) => Promise<WriteResult>;

/** A measure, a 34% US duty on China in force since April 2025, recorded through `act`. */
export async function recordTestMeasure(act: Act): Promise<string> {
  const { id } = await act(null, {
    action: 'record-measure',
    body: recordMeasureBody.parse({
      title: `Reciprocal tariff ${randomUUID()}`,
      kind: 'tariff',
      imposingParty: 'US',
      targetParties: ['CN'],
      rate: { type: 'ad-valorem', percent: 34 },
      timeZone: 'America/New_York',
      effectiveAt: '2025-04-09T04:01:00Z',
      sources: [testSource],
    }),
  });
  return id;
}

/**
 * The measure of `recordTestMeasure` and one suspension of it from November 2025 to `endAt`,
 * recorded through `act`; not projected.
 */
export async function recordSuspendedMeasure(
  act: Act,
  endAt: number,
): Promise<{ measureId: string; suspensionId: string }> {
  const measureId = await recordTestMeasure(act);
  const { suspensionId } = await act(measureId, {
    action: 'schedule-suspension',
    body: {
      startsAt: '2025-11-10T05:01:00Z',
      endsAt: new Date(endAt).toISOString(),
      sources: [testSource],
    },
  });
  return { measureId, suspensionId: suspensionId as string };
}
