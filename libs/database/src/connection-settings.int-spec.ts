import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { connectionSettings } from './connection-settings';

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
});
