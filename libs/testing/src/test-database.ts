import { randomBytes } from 'node:crypto';
import {
  createDataSource,
  dropDatabase,
  ensureDatabase,
  poolOf,
  runMigrations,
} from '@app/database';
import { allMigrations } from '@app/migrations';
import type { Pool } from 'pg';
import type { DataSource, MigrationInterface } from 'typeorm';

export interface TestDatabase {
  url: string;
  dataSource: DataSource;
  pool: Pool;
  /** Runs one migration's `up` or `down` in a transaction of its own, as the app runs them. */
  migrate(migration: MigrationInterface, direction: 'up' | 'down'): Promise<void>;
  /** Closes the connections and drops the database. */
  drop(): Promise<void>;
}

/** The server the tests use: the machine's PostgreSQL unless DATABASE_URL names another. */
export function testServerUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/accord';
}

/**
 * A freshly created, migrated database of its own, so that test files (and overlapping runs)
 * never see each other's events. Drop it in `afterAll`.
 */
export async function createTestDatabase(label = 'test'): Promise<TestDatabase> {
  const url = new URL(testServerUrl());
  url.pathname = `/accord_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(5).toString('hex')}`;
  const dbUrl = url.toString();
  await ensureDatabase(dbUrl);
  const dataSource = createDataSource({ url: dbUrl, migrations: allMigrations, poolSize: 12 });
  await dataSource.initialize();
  await runMigrations(dataSource);
  return {
    url: dbUrl,
    dataSource,
    pool: poolOf(dataSource),
    async migrate(migration, direction) {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.startTransaction();
        await migration[direction](runner);
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      } finally {
        await runner.release();
      }
    },
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await dropDatabase(dbUrl);
    },
  };
}
