/**
 * Command throughput and latency of the write API over HTTP: `POST /api/v1/measures` (a new
 * measure each time, with an editor key) against a bare NestJS route on the same server that
 * stores the same body with one INSERT, at 8 concurrent clients; then the time to import the
 * bundled dataset. Each part has a fresh database of its own, dropped at the end.
 *
 *   npm run bench:commands [-- --seconds 10 --rounds 3 --connections 8 --profile <dir>]
 *
 * The api is `createApi()` (plus the baseline route) listening on an ephemeral port on
 * 127.0.0.1, in this process; autocannon runs in a child process so that the load generator
 * does not share the server's event loop. Runs have a fixed duration and alternate bare,
 * Accord, bare, Accord, … after an unreported warm-up of each. Every request body is the same
 * realistic measure (~1.6 KB, two sources) with a fresh code; every response must be a 2xx.
 * With `--profile <dir>`, one more run of each route samples the api's CPU and writes
 * `<dir>/commands-bare.cpuprofile` and `<dir>/commands-accord.cpuprofile` (not in the figures).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { createApi } from '../apps/api/src/create-api';
import { BARE_TABLE_DDL, BenchApiModule } from './lib/bare-insert.module';
import { CpuMeter } from './lib/cpu';
import { startLoadClient, type LoadResult } from './lib/http-load';
import { describeRun } from './lib/machine';
import { RECORD_MEASURE_BODY } from './lib/measure-body';
import { profileWhile } from './lib/profiler';
import { runCli } from './lib/run-cli';
import { ascending, median, percentile } from './lib/stats';
import { ms, printTable, rate, ratio } from './lib/table';
import { Teardown } from './lib/teardown';

const TARGET = 0.6;
const BARE_PATH = '/bench/bare-insert';
const ACCORD_PATH = '/api/v1/measures';

type Kind = 'bare' | 'accord';
const LABELS: Record<Kind, string> = {
  bare: `bare route, one INSERT (POST ${BARE_PATH})`,
  accord: `Accord (POST ${ACCORD_PATH})`,
};

interface Run {
  commandsPerSecond: number;
  latenciesMs: number[];
  /** CPU per command, µs. */
  cpuUs: CpuPerCommand;
}

interface CpuPerCommand {
  /** This process: the api (the load generator runs in a child process). */
  api: number;
  /** The PostgreSQL backends of the benchmark's database. */
  postgres: number;
  client: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '8' },
      warmup: { type: 'string', default: '2' },
      profile: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);
  const warmup = Number(values.warmup);

  const teardown = new Teardown();
  try {
    const importDb = await createTestDatabase('bench_import');
    const dropImportDb = teardown.add('drop the import database', () => importDb.drop());
    await describeRun(importDb.pool, [
      'apps/api/src/measures/measures-write.controller.ts',
      'libs/trade/src/write/aggregate-writer.ts',
      'libs/event-store/src/event-store.ts',
      'data/us-china-2025.yaml',
    ]);
    await benchImport(importDb);
    await dropImportDb();

    const db = await createTestDatabase('bench_commands');
    teardown.add('drop the benchmark database', () => db.drop());
    await db.pool.query(BARE_TABLE_DDL);
    console.log(`\ndatabase: ${new URL(db.url).pathname.slice(1)} (dropped at the end)`);
    console.log(
      `runs:     ${rounds} rounds × ${seconds} s per route, ${connections} connections, ` +
        `after a ${warmup} s warm-up of each\n`,
    );

    const adminKey = `bench-admin-${randomBytes(24).toString('base64url')}`;
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      ADMIN_API_KEY: adminKey,
    });
    const app = await createApi(BenchApiModule);
    teardown.add('close the api', () => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const editorKey = await createEditorKey(base, adminKey);

    const client = startLoadClient();
    teardown.add('stop the load generator', () => client.close());
    const targets: Record<Kind, { url: string; headers: Record<string, string> }> = {
      bare: { url: `${base}${BARE_PATH}`, headers: {} },
      accord: { url: `${base}${ACCORD_PATH}`, headers: { authorization: `Bearer ${editorKey}` } },
    };
    const cpu = CpuMeter.on(db.pool, client.pid);
    const load = async (kind: Kind, runSeconds: number): Promise<Run> => {
      const stop = await cpu.start();
      const result = await client.run({
        ...targets[kind],
        body: RECORD_MEASURE_BODY,
        connections,
        seconds: runSeconds,
      });
      const used = await stop();
      assertAllSucceeded(kind, result);
      const perCommand = (cpuMs: number) => (cpuMs * 1000) / result.ok;
      return {
        commandsPerSecond: result.ok / (result.elapsedMs / 1000),
        latenciesMs: result.latenciesMs,
        cpuUs: {
          api: perCommand(used.serverMs),
          postgres: perCommand(used.postgresMs),
          client: perCommand(used.clientMs),
        },
      };
    };

    for (const kind of ['bare', 'accord'] as const) await load(kind, warmup);
    const results: Record<Kind, Run[]> = { bare: [], accord: [] };
    for (let round = 1; round <= rounds; round += 1) {
      for (const kind of ['bare', 'accord'] as const) {
        const run = await load(kind, seconds);
        results[kind].push(run);
        const sorted = ascending(run.latenciesMs);
        console.log(
          `round ${round}  ${LABELS[kind].padEnd(44)} ${rate(run.commandsPerSecond).padStart(6)} ` +
            `commands/s  p50 ${ms(percentile(sorted, 50)).padStart(6)} ms  ` +
            `p99 ${ms(percentile(sorted, 99)).padStart(7)} ms`,
        );
      }
    }
    printSummary(results, connections);
    await printWhatWasWritten(db);
    if (values.profile) {
      for (const kind of ['bare', 'accord'] as const) {
        const file = path.resolve(values.profile, `commands-${kind}.cpuprofile`);
        const run = await profileWhile(file, () => load(kind, seconds));
        console.log(`profile:  ${file} (${rate(run.commandsPerSecond)} commands/s while sampled)`);
      }
    }
  } finally {
    await teardown.run();
  }
}

/** `npm run cli -- seed` on a fresh database, then again (idempotent: nothing to add). */
async function benchImport(db: TestDatabase): Promise<void> {
  console.log('\nImport of the bundled dataset: `npm run cli -- seed` on a fresh database');
  const rows: string[][] = [];
  for (const label of ['first import', 'second import (idempotent)']) {
    const run = await runCli(['seed'], { DATABASE_URL: db.url, LOG_LEVEL: 'error' });
    if (run.code !== 0) throw new Error(`seed failed (${run.code}):\n${run.stderr}`);
    const report =
      /Imported (.+): (\d+) of (\d+) operations added \((\d+) events\).* in ([\d.]+) s/.exec(
        run.stdout,
      );
    if (!report) throw new Error(`unexpected seed output:\n${run.stdout}`);
    const [, , added, total, events, importSeconds] = report;
    rows.push([
      label,
      `${added} of ${total}`,
      events,
      `${Number(importSeconds).toFixed(1)} s`,
      `${(run.wallMs / 1000).toFixed(1)} s`,
    ]);
  }
  const { rows: stored } = await db.pool.query<{ events: string; streams: string }>(
    'SELECT count(*) AS events, count(DISTINCT stream_id) AS streams FROM events',
  );
  printTable(
    ['run', 'operations added', 'events', 'import (as the CLI reports it)', 'whole command'],
    rows,
  );
  console.log(
    `stored: ${stored[0].events} events in ${stored[0].streams} streams. "Whole command" is ` +
      'the wall time of the process (Node start-up, TypeScript compilation, connecting, ' +
      'migrations, import).',
  );
}

async function createEditorKey(base: string, adminKey: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
    body: JSON.stringify({ name: 'bench-editor', role: 'editor' }),
  });
  if (response.status !== 201) {
    throw new Error(`creating the editor key: ${response.status} ${await response.text()}`);
  }
  return ((await response.json()) as { key: string }).key;
}

function assertAllSucceeded(kind: Kind, result: LoadResult): void {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.ok > 0) return;
  throw new Error(
    `${LABELS[kind]}: ${result.ok} 2xx, ${result.non2xx} other responses ` +
      `${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ` +
      `${result.timeouts} timeouts: the figures would not be comparable`,
  );
}

function printSummary(results: Record<Kind, Run[]>, connections: number): void {
  const rates = (kind: Kind) => results[kind].map((run) => run.commandsPerSecond);
  const spread = (values: number[]) =>
    `${rate(median(values))} (${rate(Math.min(...values))}–${rate(Math.max(...values))})`;
  const pooled = (kind: Kind) => ascending(results[kind].flatMap((run) => run.latenciesMs));
  const latency = (kind: Kind) =>
    `${ms(percentile(pooled(kind), 50))} / ${ms(percentile(pooled(kind), 99))}`;
  const ratioOfMedians = median(rates('accord')) / median(rates('bare'));
  const perRound = rates('accord').map((value, i) => value / rates('bare')[i]);

  console.log(
    `\nPOST a new measure over HTTP at ${connections} connections — commands/s: median of ` +
      `${results.bare.length} runs (min–max); latency over all runs`,
  );
  printTable(
    [
      'bare route commands/s',
      'Accord commands/s',
      'Accord / bare',
      'per-round ratios',
      'bare p50 / p99 ms',
      'Accord p50 / p99 ms',
      `target ≥ ${TARGET}×`,
    ],
    [
      [
        spread(rates('bare')),
        spread(rates('accord')),
        ratio(ratioOfMedians),
        perRound.map(ratio).join(' '),
        latency('bare'),
        latency('accord'),
        ratioOfMedians >= TARGET ? 'met' : 'MISSED',
      ],
    ],
  );

  const cpu = (kind: Kind, part: keyof CpuPerCommand) =>
    median(results[kind].map((run) => run.cpuUs[part]));
  const total = (kind: Kind) => cpu(kind, 'api') + cpu(kind, 'postgres');
  console.log(
    '\nCPU per command, µs (median of the runs; /proc and process.cpuUsage, 10 ms ticks for ' +
      'PostgreSQL): the api process (Node, one thread), the PostgreSQL backends of the ' +
      "benchmark's database, and the load generator",
  );
  printTable(
    ['route', 'api process', 'PostgreSQL', 'api + PostgreSQL', 'load generator'],
    (['bare', 'accord'] as const).map((kind) => [
      LABELS[kind],
      rate(cpu(kind, 'api')),
      rate(cpu(kind, 'postgres')),
      rate(total(kind)),
      rate(cpu(kind, 'client')),
    ]),
  );
  console.log(
    `Accord / bare: api process ${ratio(cpu('accord', 'api') / cpu('bare', 'api'))}, ` +
      `PostgreSQL ${ratio(cpu('accord', 'postgres') / cpu('bare', 'postgres'))}, ` +
      `together ${ratio(total('accord') / total('bare'))}.`,
  );
}

/** What one command stored on each side, so that "a row of the same size" can be checked. */
async function printWhatWasWritten(db: TestDatabase): Promise<void> {
  const { rows: bare } = await db.pool.query<{ rows: string; bytes: string }>(
    'SELECT count(*) AS rows, round(avg(pg_column_size(b.*))) AS bytes FROM bench_bare_commands b',
  );
  const { rows: accord } = await db.pool.query<{
    streams: string;
    events: string;
    bytes: string;
  }>(
    `SELECT count(DISTINCT stream_id) AS streams, count(*) AS events,
            round(avg(pg_column_size(e.*))) AS bytes
       FROM events e WHERE stream_id LIKE 'measure-%'`,
  );
  const perCommand = Number(accord[0].events) / Number(accord[0].streams);
  console.log(
    `\nstored: bare ${bare[0].rows} rows of ${bare[0].bytes} bytes on average; Accord ` +
      `${accord[0].streams} measures in ${accord[0].events} events (${perCommand.toFixed(2)} per ` +
      `command) of ${accord[0].bytes} bytes on average (pg_column_size of the row, warm-ups included)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
