import { createTestDatabase, type TestDatabase } from '@app/testing';
import { APPEND_LOCK_CLASS } from '../appends-in-flight';
import { AppendHoldsLock1765000000000 } from './1765000000000-append-holds-lock';

/** The patch of `accord_append` goes up and down, and refuses a body it does not know. */
describe('Migration AppendHoldsLock1765000000000', () => {
  let db: TestDatabase;
  const migration = new AppendHoldsLock1765000000000();

  beforeAll(async () => {
    db = await createTestDatabase('append_holds_lock_migration');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const migrate = (direction: 'up' | 'down') => db.migrate(migration, direction);

  const definition = async () => {
    const [{ body }]: { body: string }[] = await db.dataSource.query(
      `SELECT pg_get_functiondef('accord_append(text, bigint, text, jsonb)'::regprocedure) AS body`,
    );
    return body;
  };

  /** The append's lock as pg_locks shows it while an append's transaction is open. */
  async function locksHeldByAnAppend(): Promise<number> {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `SELECT accord_append('s-' || gen_random_uuid(), NULL, NULL, jsonb_build_array(jsonb_build_object(
           'eventId', gen_random_uuid(), 'type', 'Probe', 'schemaVersion', 1,
           'payload', '{}'::jsonb, 'metadata', '{}'::jsonb)))`,
      );
      const { rows } = await client.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM pg_locks
          WHERE locktype = 'advisory' AND classid = $1 AND objid = pg_backend_pid()
            AND pid = pg_backend_pid()`,
        [APPEND_LOCK_CLASS],
      );
      return rows[0].count;
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  }

  it('makes an append hold its lock, and takes it away again on the way down', async () => {
    expect(await locksHeldByAnAppend()).toBe(1);

    await migrate('down');
    expect(await definition()).not.toContain('pg_advisory_xact_lock_shared');
    expect(await locksHeldByAnAppend()).toBe(0);

    await migrate('up');
    expect(await locksHeldByAnAppend()).toBe(1);
    // The transaction id is still taken first: readers of the version before wait on it.
    expect(await definition()).toMatch(
      /pg_advisory_xact_lock_shared\(\d+, pg_backend_pid\(\)\); PERFORM pg_current_xact_id\(\);[\s\S]*nextval/,
    );
  });

  it('refuses to patch a function it does not recognise', async () => {
    await expect(migrate('up')).rejects.toThrow('not the version this migration expects');
    expect(await locksHeldByAnAppend()).toBe(1);
  });
});
