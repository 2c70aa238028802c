import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Pool } from 'pg';

/**
 * A fresh, migrated database of the benchmark's own (dropped on exit, Ctrl-C included), and
 * pools of an exact size on it, their connections opened before anything is timed.
 */
export async function openBenchDatabase(label: string): Promise<TestDatabase> {
  const db = await createTestDatabase(label);
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await db.drop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`\n${signal}: dropping the benchmark database`);
    void drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { ...db, drop };
}

export async function openPool(url: string, size: number, name: string): Promise<Pool> {
  const pool = new Pool({ connectionString: url, max: size, application_name: name });
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  for (const client of clients) client.release();
  return pool;
}
