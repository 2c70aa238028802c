import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { dropDatabase, ensureDatabase } from '@app/database';
import { testRedisUrl, testServerUrl } from '@app/testing';
import { repoRoot, runEntry } from './support/run-process';

const CLI = 'apps/cli/src/main.ts';
/** Nothing listens on port 1 of the loopback: every connection there is refused at once. */
const NOWHERE_PG = 'postgres://root@127.0.0.1:1/accord_nowhere';
const NOWHERE_REDIS = 'redis://127.0.0.1:1';

/** A stack trace's frame line, which a user mistake or an outage should never print. */
const STACK_FRAME = /^\s+at /m;

/** A database name on the test server that no test has created. */
function unusedDatabaseUrl(label: string): string {
  const url = new URL(testServerUrl());
  url.pathname = `/accord_e2e_cli_${label}_${randomBytes(5).toString('hex')}`;
  return url.toString();
}

async function databaseExists(url: string): Promise<boolean> {
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const client = new Client({ connectionString: maintenance.toString() });
  await client.connect();
  try {
    const name = new URL(url).pathname.slice(1);
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}

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

  it('alerts:reconcile against a Redis database the server refuses fails, reporting no success', async () => {
    // Far past the 16 databases a Redis server has unless configured otherwise.
    const refused = `${testRedisUrl().replace(/\/\d*$/, '')}/65535`;
    const result = await runEntry(CLI, ['alerts:reconcile'], { REDIS_URL: refused }, 60_000);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `REDIS_URL: Redis at ${refused} refuses database 65535: ERR DB index is out of range`,
    );
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(result.stdout).not.toContain('Reconciled');
  });

  it('verify on a database without the event log says so', async () => {
    const url = new URL(testServerUrl());
    url.pathname = `/accord_e2e_cli_empty_${randomBytes(5).toString('hex')}`;
    await ensureDatabase(url.toString());
    try {
      const result = await runEntry(CLI, ['verify'], { DATABASE_URL: url.toString() }, 60_000);
      expect(result.code).toBe(1);
      expect(result.stderr.trim()).toBe(
        `${url.toString()} has no Accord event log: nothing was ever recorded there (the api, the worker and seed create it).`,
      );
    } finally {
      await dropDatabase(url.toString());
    }
  });

  // A key made in a database no Accord uses would be refused by the api on the right one.
  const newAdminKey = ['api-keys:create', '--role', 'admin', '--name', 'typo-admin'];
  it.each([['projections:rebuild'], ['alerts:reconcile'], ['verify'], newAdminKey])(
    '%s on a database that does not exist (a mistyped DATABASE_URL) fails, creating none',
    async (...args) => {
      const url = unusedDatabaseUrl('typo');
      try {
        const result = await runEntry(
          CLI,
          args,
          { DATABASE_URL: url, REDIS_URL: testRedisUrl() },
          60_000,
        );
        expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
        expect(result.stderr.trim()).toBe(
          `Database "${new URL(url).pathname.slice(1)}" does not exist (DATABASE_URL is ${url}): ` +
            'this command works on an Accord database and creates none. Check DATABASE_URL ' +
            '(seed, import, the api and the worker create the database).',
        );
        expect(await databaseExists(url)).toBe(false);
      } finally {
        await dropDatabase(url);
      }
    },
  );

  it.each([['projections:rebuild'], ['alerts:reconcile'], newAdminKey])(
    '%s on a database without the event log says so, and leaves it as it was',
    async (...args) => {
      const url = unusedDatabaseUrl('empty');
      await ensureDatabase(url);
      try {
        const result = await runEntry(
          CLI,
          args,
          { DATABASE_URL: url, REDIS_URL: testRedisUrl() },
          60_000,
        );
        expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 1, stdout: '' });
        expect(result.stderr.trim()).toBe(
          `${url} has no Accord event log: nothing was ever recorded there (the api, the worker and seed create it).`,
        );
        const client = new Client({ connectionString: url });
        await client.connect();
        const { rows } = await client
          .query<{ tables: string }>(
            "SELECT count(*)::text AS tables FROM pg_tables WHERE schemaname = 'public'",
          )
          .finally(() => client.end());
        expect(rows[0].tables).toBe('0');
      } finally {
        await dropDatabase(url);
      }
    },
  );

  it('help into a reader that stops early (| head) exits quietly, without a stack trace', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['-r', '@swc-node/register', CLI, 'help'], {
        cwd: repoRoot,
      });
      // The reader is gone before the CLI writes its first line: every write meets EPIPE.
      child.stdout.destroy();
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(result).toEqual({ code: 0, stderr: '' });
  });

  it('refuses a DATABASE_URL that names no database before connecting anywhere', async () => {
    const result = await runEntry(CLI, ['verify'], { DATABASE_URL: 'postgres://root@127.0.0.1:1' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      'Invalid configuration:\n  - DATABASE_URL: must name the database, as in postgres://user@host:5432/accord',
    );
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

  it('help lists every command with the arguments and options it takes', async () => {
    const result = await runEntry(CLI, ['help'], { DATABASE_URL: NOWHERE_PG }, 60_000);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('  import <dataset.yaml>\n');
    expect(result.stdout).toContain(
      '  api-keys:create --role <viewer|editor|admin> --name <name>\n',
    );
    expect(result.stdout).toContain('  alerts:reconcile [--enqueue-overdue]\n');
    expect(result.stdout).toContain('  projections:rebuild [name]\n');
  });

  it('refuses a dataset file before opening any database: not UTF-8, or not a dataset', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'accord-cli-'));
    const name = `accord_cli_never_${randomBytes(4).toString('hex')}`;
    const server = new URL(testServerUrl());
    const at = (database: string) => Object.assign(new URL(server), { pathname: `/${database}` });
    const url = at(name).toString();
    try {
      // Latin-1 "é": leniently decoded it would be recorded for good as U+FFFD.
      const latin1 = path.join(dir, 'latin1.yaml');
      await writeFile(latin1, Buffer.from('dataset: x\ntitle: "Mesure r\xe9ciproque"\n', 'latin1'));
      const notUtf8 = await runEntry(CLI, ['import', latin1], { DATABASE_URL: url }, 60_000);
      expect(notUtf8.code).toBe(1);
      expect(notUtf8.stderr).toContain('not UTF-8 (it stops being UTF-8 near byte 28)');
      const broken = path.join(dir, 'broken.yaml');
      await writeFile(broken, 'not: [yaml');
      const notYaml = await runEntry(CLI, ['import', broken], { DATABASE_URL: url }, 60_000);
      expect(notYaml.code).toBe(1);
      expect(notYaml.stderr).toContain('not valid YAML');
      expect(notYaml.stderr).toContain('Nothing was imported.');
      // Neither created the database it was pointed at.
      const client = new Client({ connectionString: at('postgres').toString() });
      await client.connect();
      const { rowCount } = await client
        .query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
        .finally(() => client.end());
      expect(rowCount).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await dropDatabase(url).catch(() => undefined);
    }
  });

  it('answers an unknown command on stderr alone, usage included, with exit code 2', async () => {
    const result = await runEntry(CLI, ['bogus'], { DATABASE_URL: NOWHERE_PG }, 60_000);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^Unknown command: bogus\nUsage: npm run cli -- <command>/);
    expect(result.stderr).toContain('api-keys:create');
  });

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
