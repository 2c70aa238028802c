import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import {
  BUNDLED_DATASET_PATH,
  DatasetImporter,
  DatasetModule,
  deterministicUuid,
} from '@app/dataset';
import {
  EventStore,
  SubscriptionRunner,
  type RecordedEvent,
  type SubscriptionHandler,
} from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { eventually, type TestDatabase } from '@app/testing';
import {
  ConditionalSuspensionStarter,
  ExecuteAgreementAction,
  ExecuteMeasureAction,
  type AgreementAction,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { DataSource } from 'typeorm';
import { ProjectionsModule } from '../projections.module';

/**
 * Test support for the projections' integration tests (never exported from the lib): the write
 * side and the projections booted as the worker boots them, on a database of their own, with
 * the bundled dataset imported through the real command handlers.
 */
export interface ProjectionTestApp {
  app: INestApplicationContext;
  store: EventStore;
  dataSource: DataSource;
  /** Imports the bundled dataset and lets the conditional-suspension starter catch up. */
  seed(): Promise<void>;
  measure(measure: string | null, action: MeasureAction): Promise<WriteResult>;
  agreement(agreement: string | null, action: AgreementAction): Promise<WriteResult>;
  /** The id the importer gives a measure or agreement of the bundled dataset. */
  datasetId(kind: 'measure' | 'agreement', code: string): string;
  /** The id the importer gives what a `ref` of the bundled dataset names (a commitment, …). */
  datasetRef(ref: string): string;
  /** Every event of the global log, in position order. */
  allEvents(): Promise<RecordedEvent[]>;
  /** Feeds the log to `handler` in pages of `batchSize`, each page in a transaction of its own. */
  projectPages(handler: SubscriptionHandler, batchSize: number): Promise<number>;
  /** Feeds exactly these events to `handler` in one transaction. */
  projectBatch(handler: SubscriptionHandler, events: RecordedEvent[]): Promise<void>;
  /**
   * Starts a SubscriptionRunner for `handler` (its checkpoint reset to zero) and returns it with
   * a `caughtUp()` that resolves once its checkpoint has reached the head of the log.
   */
  runner(handler: SubscriptionHandler): Promise<{
    runner: SubscriptionRunner;
    caughtUp(): Promise<void>;
  }>;
  /** `SELECT *` of a read-model table, ordered by its key: what a reader sees. */
  rows(table: string, key: string): Promise<Record<string, unknown>[]>;
  truncate(table: string): Promise<void>;
  /** Stops the runners and closes the app (the test drops its database). */
  close(): Promise<void>;
}

/** A handler under another subscription name (and batch size) that counts its batches. */
export function renamed(
  handler: SubscriptionHandler,
  name: string,
  batchSize: number,
): SubscriptionHandler & { batches: number } {
  const wrapper = {
    name,
    batchSize,
    batches: 0,
    async handle(events: RecordedEvent[], manager: Parameters<SubscriptionHandler['handle']>[1]) {
      if (events.length) wrapper.batches += 1;
      await handler.handle(events, manager);
    },
  };
  return wrapper;
}

export const uniqueSuffix = (): string => randomBytes(4).toString('hex').toUpperCase();

/** Boots the write side and the projections on `db`; DATABASE_URL must name it. */
export async function startProjectionTestApp(db: TestDatabase): Promise<ProjectionTestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [
      ConfigModule,
      DatabaseModule.forRoot({
        migrations: allMigrations,
        migrate: false,
        applicationName: 'projection-test',
      }),
      CqrsModule.forRoot(),
      DatasetModule,
      ProjectionsModule,
    ],
  }).compile();
  moduleRef.useLogger(['error']);
  const app = await moduleRef.init();
  const connectedTo = (app.get(DataSource).options as { url?: string }).url;
  if (connectedTo !== db.url) {
    // Never let a test write to whatever database the environment names.
    await app.close();
    throw new Error(`Set DATABASE_URL to ${db.url} before booting (it named ${connectedTo})`);
  }
  const store = app.get(EventStore);
  const dataSource = app.get(DataSource);
  const commandBus = app.get(CommandBus);
  const runners: SubscriptionRunner[] = [];

  async function projectBatch(handler: SubscriptionHandler, events: RecordedEvent[]) {
    await dataSource.transaction((manager) => handler.handle(events, manager));
  }

  async function startRunner(handler: SubscriptionHandler) {
    await dataSource.query('DELETE FROM subscription_checkpoints WHERE name = $1', [handler.name]);
    const runner = new SubscriptionRunner(handler, store, dataSource, {
      databaseUrl: db.url,
      pollIntervalMs: 50,
      standbyRetryMs: 50,
      errorBackoffMs: 50,
    });
    runners.push(runner);
    runner.start();
    return {
      runner,
      caughtUp: () =>
        eventually(
          async () => {
            const { checkpoint, lastError } = runner.status();
            const head = await store.headPosition();
            if (lastError !== null || checkpoint !== head) {
              throw new Error(`${handler.name} at ${checkpoint} of ${head}: ${lastError}`);
            }
          },
          { timeoutMs: 60_000, intervalMs: 50 },
        ),
    };
  }

  return {
    app,
    store,
    dataSource,
    async seed() {
      const importer = app.get(DatasetImporter);
      const dataset = importer.parse(await readFile(BUNDLED_DATASET_PATH, 'utf8'));
      await importer.import(dataset, { actor: 'import' });
      // Suspensions that start "when the US suspension does" are started by the process manager.
      const { runner, caughtUp } = await startRunner(app.get(ConditionalSuspensionStarter));
      await caughtUp();
      await runner.stop();
    },
    measure: (measure, action) =>
      commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: 'projection-test' }),
      ),
    agreement: (agreement, action) =>
      commandBus.execute<ExecuteAgreementAction, WriteResult>(
        new ExecuteAgreementAction(agreement, action, { actor: 'projection-test' }),
      ),
    datasetId: (kind, code) => deterministicUuid(`us-china-2025:${kind}:${code}`),
    datasetRef: (ref) => deterministicUuid(`us-china-2025:${ref}`),
    async allEvents() {
      const events: RecordedEvent[] = [];
      for (let after = 0; ;) {
        const page = await store.readAll(after, 1000);
        if (page.nextAfter === after) return events;
        events.push(...page.events);
        after = page.nextAfter;
      }
    },
    async projectPages(handler, batchSize) {
      let batches = 0;
      for (let after = 0; ; batches += 1) {
        const page = await store.readAll(after, batchSize);
        if (page.nextAfter === after) return batches;
        await projectBatch(handler, page.events);
        after = page.nextAfter;
      }
    },
    projectBatch,
    runner: startRunner,
    rows: (table, key) => dataSource.query(`SELECT * FROM ${table} ORDER BY ${key}`),
    async truncate(table) {
      await dataSource.query(`TRUNCATE ${table}`);
    },
    async close() {
      await Promise.all(runners.map((runner) => runner.stop()));
      await app.close();
    },
  };
}
