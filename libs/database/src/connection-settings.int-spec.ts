import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { connectionSettings } from './connection-settings';
import { createDataSource } from './data-source';

/**
 * The server is asked to drop a client that vanished within seconds (keepalives, an
 * unacknowledged-data timeout): a partitioned worker's sessions, and their advisory locks, do
 * not outlive it by the operating system's two hours.
 */
describe('connectionSettings on PostgreSQL', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('connection_settings');
  });
  afterAll(async () => {
    await db?.drop();
  });

  const settingsOf = async (query: (text: string) => Promise<{ rows: unknown[] }>) =>
    (
      await query(
        `SELECT current_setting('tcp_keepalives_idle') AS idle,
                current_setting('tcp_keepalives_interval') AS "interval",
                current_setting('tcp_keepalives_count') AS count,
                current_setting('tcp_user_timeout') AS "userTimeout"`,
      )
    ).rows[0];
  const expected = { idle: '10', interval: '5', count: '3', userTimeout: '30000' };

  it('applies to the pool under every data source', async () => {
    expect(await settingsOf((text) => db.pool.query(text))).toEqual(expected);
  });

  it('applies to a client opened with them', async () => {
    const client = new Client({ connectionString: db.url, ...connectionSettings() });
    await client.connect();
    try {
      expect(await settingsOf((text) => client.query(text))).toEqual(expected);
    } finally {
      await client.end();
    }
  });

  it('rolls a transaction back whose statement outlasts the query timeout, leaving nothing for the next one to commit', async () => {
    const timed = createDataSource({
      url: db.url,
      migrations: [],
      poolSize: 1,
      queryTimeoutMs: 500,
    });
    await timed.initialize();
    try {
      await timed.query('CREATE TABLE timed_out (label text)');
      await expect(
        timed.transaction(async (manager) => {
          await manager.query(`INSERT INTO timed_out VALUES ('half-done')`);
          await manager.query('SELECT pg_sleep(1.5)');
        }),
      ).rejects.toThrow();
      // The same pool, one connection: the next transaction must not inherit the first.
      await timed.transaction((manager) => manager.query(`INSERT INTO timed_out VALUES ('next')`));
      const rows: { label: string }[] = await db.pool
        .query('SELECT label FROM timed_out')
        .then((r) => r.rows);
      expect(rows).toEqual([{ label: 'next' }]);
    } finally {
      await timed.destroy();
    }
  });
});
