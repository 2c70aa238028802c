import { Client } from 'pg';
import { ConfigError } from './config';
import { describeStartupFailure } from './startup-failure';

/** The error pg gives for a connection made with `options`, or undefined if it succeeds. */
async function connectionError(options: ConstructorParameters<typeof Client>[0]) {
  const client = new Client(options);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe('describeStartupFailure', () => {
  it('gives a configuration error as it is', () => {
    expect(describeStartupFailure(new ConfigError(['PORT: too big']))).toBe(
      'Invalid configuration:\n  - PORT: too big',
    );
  });

  it('says in one line that PostgreSQL is out of reach', async () => {
    const error = await connectionError({ host: '127.0.0.1', port: 1, database: 'nowhere' });
    expect(describeStartupFailure(error)).toBe(
      'Cannot connect to PostgreSQL at 127.0.0.1:1 (ECONNREFUSED): check that it runs and that DATABASE_URL points at it.',
    );
  });

  it('keeps the stack of anything the operator cannot fix by configuration', () => {
    const error = new TypeError('undefined is not a function');
    expect(describeStartupFailure(error)).toBe(error.stack);
  });
});
