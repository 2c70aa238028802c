import type { Pool } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { connectionSettings, QueryTimeoutClient } from './connection-settings';

type MigrationClass = new () => MigrationInterface;

export interface DataSourceOptions {
  url: string;
  migrations: MigrationClass[];
  poolSize?: number;
  applicationName?: string;
  /** A query unanswered this long fails (see `connectionSettings`); none if absent. */
  queryTimeoutMs?: number;
}

/** TypeORM owns connections and migrations; never `synchronize` (STYLE.md). */
export function createDataSource(options: DataSourceOptions): DataSource {
  return new DataSource({
    type: 'postgres',
    url: options.url,
    migrations: options.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    // Off: TypeORM would print every failed query with all its parameters (thousands of ids on
    // a CLI's stdout, and whatever secret a statement carried). Errors still reach the caller,
    // which logs what it means.
    logging: false,
    applicationName: options.applicationName ?? 'accord',
    extra: {
      max: options.poolSize ?? 10,
      ...connectionSettings({ queryTimeoutMs: options.queryTimeoutMs }),
      Client: QueryTimeoutClient,
    },
  });
}

/** The pg pool under the data source, for the event store's hot paths. */
export function poolOf(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

// An arbitrary constant key; every process that migrates takes the same lock.
const MIGRATION_LOCK_KEY = 0x0acc0d;

/**
 * Runs pending migrations under a PostgreSQL advisory lock, so that the api and the worker
 * starting together do not both apply the same migration.
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const client = await poolOf(dataSource).connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    client.release();
  }
}
