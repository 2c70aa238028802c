import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import { repoRoot, runEntry } from './support/run-process';
import { eventCount } from './support/write-api';

const CLI = 'apps/cli/src/main.ts';
const TIMEOUT_MS = 90_000;

const source = { issuer: 'QA', title: 'A test source', official: false };
const measure = (code: string, extra: Record<string, unknown> = {}) => ({
  key: `record-${code.toLowerCase()}`,
  action: 'record-measure',
  body: {
    code,
    title: `Test tariff ${code}`,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rate: { type: 'ad-valorem', percent: 10 },
    effectiveAt: '2025-04-09T04:01:00Z',
    sources: [source],
    ...extra,
  },
});

/** Imports of files the user wrote: what stays after a failure, and keys reused with edits. */
describe('npm run cli -- import, with mistakes in the file', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('e2e_dataset_import');
    dir = await mkdtemp(path.join(tmpdir(), 'accord-import-'));
  });
  afterAll(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  async function importOperations(name: string, operations: unknown[]) {
    const file = path.join(dir, `${name}.yaml`);
    // JSON is YAML too.
    await writeFile(file, JSON.stringify({ dataset: 'qa-import', title: 'QA', operations }));
    return runEntry(
      CLI,
      ['import', file],
      { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      TIMEOUT_MS,
    );
  }

  it('refuses a part larger than the rate of a measure recorded earlier in the file, writing nothing; the corrected file imports whole', async () => {
    // A part larger than the measure's rate: only the measure's state can tell.
    const suspension = (points: number) => ({
      key: 'suspend-qa-one',
      action: 'schedule-suspension',
      measure: 'QA-ONE',
      ref: 'qa-one-pause',
      body: {
        startsAt: '2025-05-14T04:01:00Z',
        duration: 'P90D',
        part: { percentPoints: points },
        sources: [source],
      },
    });
    const before = await eventCount(db.pool);
    const broken = await importOperations('broken', [measure('QA-ONE'), suspension(15)]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe(
      'The dataset is not valid:\n' +
        '  - operations[1] (suspend-qa-one).body.part.percentPoints: Cannot suspend 15 points of a rate of which 10% is in force\n' +
        'Nothing was imported.\n',
    );
    expect(await eventCount(db.pool)).toBe(before);

    const fixed = await importOperations('fixed', [measure('QA-ONE'), suspension(5)]);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain('2 of 2 operations added');
    expect(fixed.stdout).toContain('0 already present');
    expect(await eventCount(db.pool)).toBeGreaterThan(before);
  });

  it('refuses a value the domain would refuse (a time zone) in the last operation before writing anything', async () => {
    const before = await eventCount(db.pool);
    const result = await importOperations('bad-zone', [
      measure('QA-ZONE-ONE'),
      measure('QA-ZONE-TWO'),
      measure('QA-ZONE-THREE', {
        timeZone: 'Mars/Olympus',
        rate: { type: 'ad-valorem', percent: -5 },
      }),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'The dataset is not valid:\n' +
        '  - operations[2] (record-qa-zone-three).body.rate.percent: rate.percent must not be negative\n' +
        '  - operations[2] (record-qa-zone-three).body.timeZone: timeZone must be an IANA time zone name, got "Mars/Olympus"\n' +
        'Nothing was imported.\n',
    );
    expect(await eventCount(db.pool)).toBe(before);
  });

  it('lists every problem of a file at once: its shape, duplicate keys and unknown refs', async () => {
    const result = await importOperations('many-problems', [
      measure('QA-MANY'),
      { ...measure('QA-MANY-TWO'), colour: 'blue' },
      { key: 'e3', action: 'no-such-action' },
      { ...measure('QA-MANY-THREE'), key: 'e3' },
      {
        key: 'lift-nothing',
        action: 'lift-suspension',
        measure: 'QA-MANY',
        suspension: 'nope',
        body: { effectiveAt: '2025-06-01T00:00:00Z', sources: [source] },
      },
    ]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines[0]).toBe('The dataset is not valid:');
    expect(lines.slice(1, -1)).toEqual([
      '  - operations[1] (record-qa-many-two): Unrecognized key: "colour"',
      expect.stringMatching(/^ {2}- operations\[2\] \(e3\)\.action: /),
      '  - operations[3] (e3).key: duplicate key e3',
      '  - operations[4] (lift-nothing).suspension: no suspension nope is created earlier in the file (refs name what an earlier operation created)',
    ]);
    expect(lines.at(-1)).toBe('Nothing was imported.');
  });

  it('refuses a file over 10 MB before reading it, in one line', async () => {
    const file = path.join(dir, 'huge.yaml');
    await writeFile(file, `# ${'x'.repeat(11 * 1024 * 1024)}\n`);
    const result = await runEntry(
      CLI,
      ['import', file],
      { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      TIMEOUT_MS,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      'The dataset file is 11.0 MB; files over 10.0 MB are refused: reading one takes about 70 ' +
        'times its size in memory. Split it into smaller files, each with the operations that ' +
        'use its refs, and import them in order. Nothing was imported.\n',
    );
  });

  it('interrupted (Ctrl-C), says how far it got; the next run adds the rest', async () => {
    const total = 1500;
    const operations = Array.from({ length: total }, (_, i) => measure(`QA-INT-${i}`));
    const file = path.join(dir, 'interrupted.yaml');
    await writeFile(file, JSON.stringify({ dataset: 'qa-interrupted', operations }));
    const before = await eventCount(db.pool);
    const child = spawn(process.execPath, ['-r', '@swc-node/register', CLI, 'import', file], {
      cwd: repoRoot,
      env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'error' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await eventually(async () => expect(await eventCount(db.pool)).toBeGreaterThan(before + 10), {
      timeoutMs: TIMEOUT_MS,
    });
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    const done = Number(/^Interrupted: (\d+) of 1500 operations were done/m.exec(stderr)?.[1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(total);
    expect(stderr).toContain('Import the file again to add the rest');

    const again = await runEntry(
      CLI,
      ['import', file],
      { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      TIMEOUT_MS * 2,
    );
    expect(again.code).toBe(0);
    const [, added, present] = /: (\d+) of 1500 operations added .*, (\d+) already present/.exec(
      again.stdout,
    )!;
    expect(Number(added) + Number(present)).toBe(total);
    expect(Number(present)).toBeGreaterThanOrEqual(done);
    expect(await eventCount(db.pool)).toBe(before + total);
  }, 240_000);

  it('reads a relative path from the directory npm was run in (INIT_CWD)', async () => {
    await writeFile(
      path.join(dir, 'relative.yaml'),
      JSON.stringify({ dataset: 'qa-import', title: 'QA', operations: [measure('QA-REL')] }),
    );
    const imported = await runEntry(
      CLI,
      ['import', 'relative.yaml'],
      { DATABASE_URL: db.url, LOG_LEVEL: 'error', INIT_CWD: dir },
      TIMEOUT_MS,
    );
    expect({ code: imported.code, stderr: imported.stderr }).toEqual({ code: 0, stderr: '' });
    expect(imported.stdout).toMatch(/1 of 1 operations added/);
  });

  it('refuses a key imported before with other content, and writes nothing', async () => {
    const before = await eventCount(db.pool);
    const edited = await importOperations('edited', [
      measure('QA-ONE', { title: 'A corrected title' }),
    ]);
    expect(edited.code).toBe(1);
    expect(edited.stderr).toContain(
      'operations[0] (record-qa-one): it was imported before with other content',
    );
    expect(edited.stderr).toContain('Nothing was imported.');
    expect(await eventCount(db.pool)).toBe(before);
  });

  it('names what a failed operation points at as the file does, not by derived ids', async () => {
    const suspension = (key: string, action: string, extra: Record<string, unknown>) => ({
      key,
      action,
      measure: 'QA-REF',
      ...extra,
      body: { effectiveAt: '2025-06-01T00:00:00Z', sources: [source] },
    });
    const result = await importOperations('lifted-twice', [
      measure('QA-REF'),
      {
        ...suspension('suspend-ref', 'schedule-suspension', { ref: 'qa-ref-pause' }),
        body: { startsAt: '2025-05-01T00:00:00Z', duration: 'P90D', sources: [source] },
      },
      suspension('lift-ref', 'lift-suspension', { suspension: 'qa-ref-pause' }),
      suspension('lift-ref-again', 'lift-suspension', { suspension: 'qa-ref-pause' }),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('operations[3] (lift-ref-again)');
    expect(result.stderr).toContain('qa-ref-pause');
    expect(result.stderr).toContain('Nothing was imported.');
    expect(result.stderr).not.toMatch(
      /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/,
    );
  });

  it('refuses a ref that no earlier operation created before writing anything', async () => {
    const before = await eventCount(db.pool);
    const result = await importOperations('dangling-ref', [
      measure('QA-DANGLING'),
      {
        key: 'suspend-dangling',
        action: 'schedule-suspension',
        measure: 'QA-DANGLING',
        ref: 'qa-dangling-pause',
        body: { startsAt: '2025-05-01T00:00:00Z', duration: 'P90D', sources: [source] },
      },
      {
        key: 'extend-nothing',
        action: 'extend-suspension',
        measure: 'QA-DANGLING',
        suspension: 'no-such-ref',
        body: { duration: 'P90D', sources: [source] },
      },
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'operations[2] (extend-nothing).suspension: no suspension no-such-ref is created earlier in the file',
    );
    expect(result.stderr).toContain('Nothing was imported.');
    expect(await eventCount(db.pool)).toBe(before);
  });

  it('refuses a measure neither recorded earlier in the file nor in the database, writing nothing', async () => {
    const before = await eventCount(db.pool);
    const result = await importOperations('unknown-measure', [
      measure('QA-KNOWN-LATER'),
      {
        key: 'claim-on-nothing',
        action: 'record-claim',
        measure: 'QA-NO-SUCH-MEASURE',
        body: { party: 'CN', statement: 'A claim about nothing', sources: [source] },
      },
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'operations[1] (claim-on-nothing).measure: no measure is named QA-NO-SUCH-MEASURE, in the database or earlier in the file',
    );
    expect(result.stderr).toContain('Nothing was imported.');
    expect(await eventCount(db.pool)).toBe(before);
  });

  it('takes a measure an earlier import recorded, in the database', async () => {
    expect((await importOperations('records-known', [measure('QA-IN-DB')])).code).toBe(0);
    const result = await importOperations('claim-on-known', [
      {
        key: 'claim-on-qa-in-db',
        action: 'record-claim',
        measure: 'qa-in-db',
        body: { party: 'CN', statement: 'A claim about QA-IN-DB', sources: [source] },
      },
    ]);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    expect(result.stdout).toContain('1 of 1 operations added');
  });

  it('takes the same operation with its fields in another order as already present', async () => {
    const { body, ...rest } = measure('QA-ONE');
    const reordered = { body: Object.fromEntries(Object.entries(body).reverse()), ...rest };
    const again = await importOperations('reordered', [reordered]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('0 of 1 operations added');
  });
});
