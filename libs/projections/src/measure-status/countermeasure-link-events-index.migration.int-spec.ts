import { runMigrations } from '@app/database';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { CountermeasureLinkEventsIndex1764990000000 } from './countermeasure-link-events-index.migration';

const MIGRATION = new CountermeasureLinkEventsIndex1764990000000().name;
const BUILT_BY_HAND = `CREATE INDEX CONCURRENTLY events_countermeasure_links_idx ON events (stream_id, version)
  INCLUDE (recorded_at) WHERE type IN ('CountermeasureLinked', 'EventRetracted')`;

/**
 * An operator with a large log builds the index concurrently, by hand, before upgrading (the
 * migration's comment says how): upgrading must then keep it, or replace it if that build was
 * interrupted, and not fail.
 */
describe('CountermeasureLinkEventsIndex on a database where the index was built by hand', () => {
  let db: TestDatabase;
  /** What the migration builds on a database that never had the index. */
  let definition: string;

  const index = async () =>
    (
      await db.pool.query<{ definition: string; valid: boolean }>(
        `SELECT pg_get_indexdef(indexrelid) AS definition, indisvalid AS valid
           FROM pg_index WHERE indexrelid = to_regclass('events_countermeasure_links_idx')`,
      )
    ).rows[0];

  /** The database as the release before this migration left it. */
  async function beforeTheUpgrade() {
    await db.pool.query('DROP INDEX IF EXISTS events_countermeasure_links_idx');
    await db.pool.query('DELETE FROM migrations WHERE name = $1', [MIGRATION]);
  }

  /** A session of the operator's own, as `psql` would be. */
  async function asOperator<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase('proj_cm_link_index');
    definition = (await index()).definition;
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('migrates, keeping the index an operator built concurrently beforehand', async () => {
    await beforeTheUpgrade();
    await asOperator((client) => client.query(BUILT_BY_HAND));
    expect(await index()).toEqual({ definition, valid: true });

    expect(await runMigrations(db.dataSource)).toEqual([MIGRATION]);
    expect(await index()).toEqual({ definition, valid: true });
  });

  it('migrates, building the index again when the operator’s concurrent build was interrupted', async () => {
    await beforeTheUpgrade();
    // A concurrent build waits for the writes in flight; one that outlasts the lock timeout
    // interrupts it after the index was entered in the catalog, which leaves it invalid.
    await asOperator(async (writer) => {
      await writer.query('BEGIN');
      await writer.query('LOCK TABLE events IN ROW EXCLUSIVE MODE');
      await asOperator(async (client) => {
        await client.query("SET lock_timeout = '200ms'");
        await expect(client.query(BUILT_BY_HAND)).rejects.toThrow(/lock timeout/);
      });
      await writer.query('ROLLBACK');
    });
    expect(await index()).toEqual({ definition, valid: false });

    expect(await runMigrations(db.dataSource)).toEqual([MIGRATION]);
    expect(await index()).toEqual({ definition, valid: true });
  });
});
