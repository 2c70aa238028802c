import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { describePostgresRefusal } from './startup-failure';

const SERVER = { host: '127.0.0.1', port: 5432, user: 'root', database: 'postgres' };

/** PostgreSQL refusing a connection is told in one line that says what to do about it. */
describe('describePostgresRefusal on PostgreSQL', () => {
  it('says the server has no connection to spare (53300)', async () => {
    // A role allowed no connection at all: the refusal a full server gives, on demand.
    const role = `accord_test_full_${randomBytes(4).toString('hex')}`;
    const admin = new Client(SERVER);
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN CONNECTION LIMIT 0`);
      const refused = new Client({ ...SERVER, user: role });
      const error = await refused.connect().then(
        () => undefined,
        (failure: unknown) => failure,
      );
      await refused.end().catch(() => undefined);
      expect(describePostgresRefusal(error)).toBe(
        `PostgreSQL refused the connection: too many connections for role "${role}" (53300); ` +
          'the server has no connection to spare (max_connections, or the role limit); try again, or raise it.',
      );
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
  });

  it('leaves any other error alone', () => {
    expect(describePostgresRefusal(new Error('boom'))).toBeUndefined();
  });
});
