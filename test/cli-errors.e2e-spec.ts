import { runEntry } from './support/run-process';

const CLI = 'apps/cli/src/main.ts';
/** Nothing listens on port 1 of the loopback: every connection there is refused at once. */
const NOWHERE_PG = 'postgres://root@127.0.0.1:1/accord_nowhere';
const NOWHERE_REDIS = 'redis://127.0.0.1:1';

/** A stack trace's frame line, which a user mistake or an outage should never print. */
const STACK_FRAME = /^\s+at /m;

describe('the CLI when something is wrong: one clear line and an exit code', () => {
  it('alerts:reconcile without Redis fails at once instead of retrying for ever', async () => {
    const started = Date.now();
    const result = await runEntry(CLI, ['alerts:reconcile'], { REDIS_URL: NOWHERE_REDIS }, 60_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED',
    );
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it.each([['seed'], ['import', 'data/us-china-2025.yaml'], ['projections:rebuild']])(
    '%s without PostgreSQL names the connection, without a stack trace',
    async (...args) => {
      const result = await runEntry(CLI, args, { DATABASE_URL: NOWHERE_PG }, 60_000);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('Cannot connect to 127.0.0.1:1 (ECONNREFUSED)');
      expect(result.stderr).not.toMatch(STACK_FRAME);
    },
  );

  it.each([
    ['seed', '--bogus'],
    ['verify', '--bogus'],
    ['import', '--help'],
  ])('%s %s answers with its usage and exit code 2, writing nothing', async (...args) => {
    const result = await runEntry(CLI, args, { DATABASE_URL: NOWHERE_PG }, 60_000);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: npm run cli -- /m);
  });
});
