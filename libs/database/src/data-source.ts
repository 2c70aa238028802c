import { OperatorError } from '@app/config';
import type { Pool } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';
import { connectionSettings, QueryTimeoutClient } from './connection-settings';
import { redactUrl } from './ensure-database';

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
 * starting together do not both apply the same migration. Refuses a database a newer version
 * has migrated (see `ensureNotNewer`).
 */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  const client = await poolOf(dataSource).connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await ensureNotNewer(dataSource);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
    client.release();
  }
}

/**
 * Throws when the database holds migrations this code does not know: a newer Accord migrated it.
 * An older process left running through an upgrade (or started again by mistake) would carry
 * on without complaint, writing read-model rows without the columns the newer code fills and
 * answering reads from them: wrong answers that stay until a rebuild. Stopping it here is what
 * makes an upgrade safe to get wrong.
 */
async function ensureNotNewer(dataSource: DataSource): Promise<void> {
  const unknown = await migrationsUnknownHere(dataSource);
  if (!unknown.length) return;
  const url = (dataSource.options as { url?: string }).url;
  throw new OperatorError(
    `The database${url ? ` at ${redactUrl(url)}` : ''} was migrated by a newer version of ` +
      `Accord (migrations this version does not know: ${unknown.join(', ')}). Run that ` +
      'version or a later one: this one would write rows without what the newer code expects.',
  );
}

/**
 * The migrations applied to the database that this code does not know, oldest first: any means
 * a newer version migrated it. (TypeORM's own `showMigrations` looks only for pending ones.)
 */
export async function migrationsUnknownHere(dataSource: DataSource): Promise<string[]> {
  const [table] = await dataSource.query<{ exists: boolean }[]>(
    "SELECT to_regclass('migrations') IS NOT NULL AS exists",
  );
  if (!table.exists) return [];
  const rows = await dataSource.query<{ name: string }[]>(
    'SELECT name FROM migrations ORDER BY id',
  );
  const known = new Set(dataSource.migrations.map((m) => m.name ?? m.constructor.name));
  return rows.map((row) => row.name).filter((name) => !known.has(name));
}
