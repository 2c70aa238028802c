/**
 * Read throughput and latency of the query API over a generated history of 100,000 measures and
 * 1,000,000 events: `GET /api/v1/measures/{id}` now, with `asOf` in the past, with `knownAt` in
 * the past, and a filtered list page, each next to a bare NestJS route on the same server that
 * reads the measure's row with one primary-key SELECT; 32 connections; a database of its own,
 * dropped at the end.
 *
 *   npm run bench:queries [-- --events 1000000 --measures 100000 --seconds 10 --rounds 3 --keep]
 *   npm run bench:queries -- --database accord_bench_queries_… [--routes knownAt,list]
 *     (again on a database a `--keep` run left, without loading it: for investigating)
 *   … --api-processes 2 --api-node-options=--max-semi-space-size=64
 *
 * Loading is not measured (bench/lib/load-history.ts, the same seeded history as
 * bench:rebuild); the measure-status projection is then built by the rebuilder, in this process.
 * The api is `createApi()` plus the baseline route in processes of its own
 * (bench/lib/query-api-server.ts: by default one, as `npm run start:api` runs it), on 127.0.0.1,
 * with a viewer key; autocannon runs in another child process, its connections shared out
 * evenly among the api processes. Each request of a run takes the next path of a list (2,000
 * measures, or 200 list cursors), so that reads spread over the table. Runs have a fixed
 * duration and go bare, current, asOf, knownAt, list, then in reverse order the next round,
 * after an unreported warm-up of each. Every response must be a 2xx. Each run also reports
 * what the api processes did meanwhile: garbage-collection pauses and event-loop delay.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ApiKeysService } from '@app/api-keys';
import {
  MEASURE_STATUS_PROJECTION,
  ProjectionRebuilder,
  RebuildableProjections,
} from '@app/projections';
import { createTestDatabase, testServerUrl } from '@app/testing';
import { Pool } from 'pg';
import { createApi } from '../apps/api/src/create-api';
import { BenchQueriesModule } from './lib/bare-select.module';
import { CpuMeter } from './lib/cpu';
import { startGetLoadClient, type GetLoadResult } from './lib/http-get-load';
import { loadHistory } from './lib/load-history';
import { describeRun } from './lib/machine';
import { machineBusyMs } from './lib/machine-cpu';
import { startQueryApi, type ApiProcessStats } from './lib/query-api';
import { ascending, median, percentile } from './lib/stats';
import { ms, percent, printTable, rate, ratio } from './lib/table';
import { Teardown } from './lib/teardown';

const AS_OF = '2021-06-01T00:00:00Z';
const LIST_QUERY = 'imposingParty=US&kind=tariff&limit=50';
const SAMPLE = 2000;
/** Their hashes are printed with the figures. */
const DESCRIBED_FILES = [
  'bench/queries.bench.ts',
  'libs/projections/src/measure-status/measure-queries.ts',
  'libs/projections/src/measure-status/measure-view.ts',
  'apps/api/src/measures/measures-read.controller.ts',
  'bench/lib/measure-history.ts',
];

type Kind = 'bare' | 'current' | 'asOf' | 'knownAt' | 'list';
const KINDS: Kind[] = ['bare', 'current', 'asOf', 'knownAt', 'list'];
const LABELS: Record<Kind, string> = {
  bare: 'bare route, one PK SELECT (GET /bench/bare/{id})',
  current: 'GET /api/v1/measures/{id}',
  asOf: `GET /api/v1/measures/{id}?asOf=${AS_OF}`,
  knownAt: 'GET /api/v1/measures/{id}?knownAt=<mid-load>',
  list: `GET /api/v1/measures?${LIST_QUERY}&cursor=…`,
};
/** Targets (issue 4): a ratio to the bare route's req/s, or a p99 bound in ms. */
const TARGETS: Partial<Record<Kind, { ratio?: number; p99Ms?: number }>> = {
  current: { ratio: 0.7 },
  asOf: { ratio: 0.7 },
  knownAt: { p99Ms: 50 },
  list: { p99Ms: 50 },
};

interface Run {
  requestsPerSecond: number;
  latenciesMs: number[];
  bytesPerResponse: number;
  /** CPU per request, µs: the api processes and the database's backends. */
  apiUs: number;
  /** The share of the api's CPU spent in the kernel. */
  apiSystemShare: number;
  postgresUs: number;
  /** The api processes' garbage-collection pauses, ms per second of run (summed over them). */
  gcMsPerSecond: number;
  /** The longest single GC pause and event-loop delay of any api process, ms. */
  gcMaxMs: number;
  /**
   * CPU the rest of the machine took meanwhile (other engineers' tests, …), in cores: busy time
   * of the whole machine less that of the api, its PostgreSQL backends and the load generator.
   */
  otherCores: number;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      measures: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      seconds: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '3' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '2' },
      /** Leave the loaded database behind (for EXPLAIN and profiling); its name is printed. */
      keep: { type: 'boolean', default: false },
      /** Run on a database a `--keep` run left (loaded and projected), and leave it. */
      database: { type: 'string' },
      /** Only these routes (comma-separated kinds) beside the bare one. */
      routes: { type: 'string' },
      'api-processes': { type: 'string', default: '1' },
      /** Node options of the api processes, space-separated. */
      'api-node-options': { type: 'string', default: '' },
      /**
       * A directory: each run of the last round samples the api processes' CPU into
       * `<dir>/<route>-<n>.cpuprofile` (the sampling slows them: figures not comparable).
       */
      profile: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const connections = Number(values.connections);

  const teardown = new Teardown();
  try {
    const { url, pool, total, measureIds } = await openDatabase(values, teardown);
    const adminKey = `bench-admin-${randomBytes(24).toString('base64url')}`;
    Object.assign(process.env, { DATABASE_URL: url, LOG_LEVEL: 'error', ADMIN_API_KEY: adminKey });
    // This process projects the history and makes the key; the api processes serve the reads.
    const setup = await createApi(BenchQueriesModule);
    const closeSetup = teardown.add('close the setup app', () => setup.close());
    if (!values.database) {
      const projectStart = performance.now();
      const measureStatus = setup
        .get(RebuildableProjections)
        .all()
        .filter((projection) => projection.name === MEASURE_STATUS_PROJECTION);
      const [built] = await setup.get(ProjectionRebuilder).rebuild(measureStatus);
      console.log(
        `projected: ${built.name}, ${built.rows.measure_status.toLocaleString('en-US')} rows, by ` +
          `the rebuilder in ${((performance.now() - projectStart) / 1000).toFixed(1)} s (not measured)`,
      );
    }
    const { key } = await setup
      .get(ApiKeysService)
      // Unique: a kept database is used again.
      .create({ name: `bench-viewer-${randomBytes(4).toString('hex')}`, role: 'viewer' });
    await closeSetup();

    const nodeOptions = values['api-node-options'].split(' ').filter(Boolean);
    const api = await startQueryApi({
      processes: Number(values['api-processes']),
      nodeOptions,
      env: { DATABASE_URL: url, LOG_LEVEL: 'error', ADMIN_API_KEY: adminKey },
    });
    teardown.add('stop the api processes', () => api.close());
    console.log(
      `api:      ${api.origins.length} process(es) of its own (pids ${api.pids.join(', ')})` +
        `${nodeOptions.length ? `, node ${nodeOptions.join(' ')}` : ''}; connections shared out evenly`,
    );
    const [origin] = api.origins;
    const paths = await pathsOf(pool, measureIds, total);
    console.log(
      `knownAt:  ${paths.knownAt} (the recording time of position ${Math.floor(total / 2).toLocaleString('en-US')}; ` +
        `its measures are drawn among those recorded by then)`,
    );
    const kinds = values.routes
      ? KINDS.filter((kind) => kind === 'bare' || values.routes?.split(',').includes(kind))
      : KINDS;
    for (const kind of kinds) await checkOnce(origin, paths.byKind[kind][0], key);
    console.log(
      `runs:     ${rounds} rounds × ${seconds} s per route, ${connections} connections, after a ` +
        `${values.warmup} s warm-up of each\n`,
    );

    const client = startGetLoadClient();
    teardown.add('stop the load generator', () => client.close());
    const cpu = CpuMeter.on(pool, client.pid);
    const load = async (kind: Kind, runSeconds: number, profile?: string): Promise<Run> => {
      await api.start(profile);
      const stop = await cpu.start();
      const busyBefore = machineBusyMs();
      const result = await client.run({
        origins: api.origins,
        paths: paths.byKind[kind],
        headers: kind === 'bare' ? {} : { authorization: `Bearer ${key}` },
        connections,
        seconds: runSeconds,
      });
      const busyMs = machineBusyMs() - busyBefore;
      const used = await stop();
      const stats = await api.stop();
      const apiMs = sumOf(stats, (s) => s.cpuMs);
      assertAllSucceeded(kind, result);
      return {
        requestsPerSecond: result.ok / (result.elapsedMs / 1000),
        latenciesMs: result.latenciesMs,
        bytesPerResponse: result.bytes / result.ok,
        apiUs: (apiMs * 1000) / result.ok,
        apiSystemShare: sumOf(stats, (s) => s.systemMs) / apiMs,
        postgresUs: (used.postgresMs * 1000) / result.ok,
        gcMsPerSecond: sumOf(stats, (s) => s.gc.minorMs + s.gc.majorMs) / (result.elapsedMs / 1000),
        gcMaxMs: Math.max(...stats.map((s) => s.gc.maxMs)),
        loopDelayP99Ms: Math.max(...stats.map((s) => s.loopDelay.p99Ms)),
        loopDelayMaxMs: Math.max(...stats.map((s) => s.loopDelay.maxMs)),
        otherCores:
          Math.max(0, busyMs - apiMs - used.postgresMs - used.clientMs) / result.elapsedMs,
      };
    };

    for (const kind of kinds) await load(kind, Number(values.warmup));
    const results = Object.fromEntries(kinds.map((kind) => [kind, [] as Run[]])) as Record<
      Kind,
      Run[]
    >;
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? kinds : [...kinds].reverse();
      for (const kind of order) {
        const profile =
          values.profile && round === rounds ? path.join(values.profile, kind) : undefined;
        const run = await load(kind, seconds, profile);
        results[kind].push(run);
        const sorted = ascending(run.latenciesMs);
        console.log(
          `round ${round}  ${LABELS[kind].padEnd(58)} ${rate(run.requestsPerSecond).padStart(6)} ` +
            `req/s  p50 ${ms(percentile(sorted, 50)).padStart(6)} ms  ` +
            `p99 ${ms(percentile(sorted, 99)).padStart(7)} ms  ` +
            `GC ${run.gcMsPerSecond.toFixed(0).padStart(3)} ms/s (max ${ms(run.gcMaxMs)})  ` +
            `loop delay p99 ${ms(run.loopDelayP99Ms)} max ${ms(run.loopDelayMaxMs)} ms  ` +
            `other load ${run.otherCores.toFixed(2)} cores`,
        );
      }
    }
    printSummary(kinds, results, connections);
  } finally {
    await teardown.run();
  }
}

const sumOf = (stats: ApiProcessStats[], pick: (s: ApiProcessStats) => number) =>
  stats.reduce((total, s) => total + pick(s), 0);

/**
 * A fresh database with the generated history loaded (dropped at the end unless `--keep`), or
 * the one `--database` names, as a `--keep` run left it. The measure ids in the order the history
 * recorded them (by key for a kept database).
 */
async function openDatabase(
  values: { database?: string; keep: boolean; seed: string; measures: string; events: string },
  teardown: Teardown,
): Promise<{ url: string; pool: Pool; total: number; measureIds: string[] }> {
  if (values.database) {
    const url = new URL(testServerUrl());
    url.pathname = `/${values.database}`;
    const pool = new Pool({ connectionString: url.toString(), max: 2 });
    teardown.add('close the pool', () => pool.end());
    await describeRun(pool, DESCRIBED_FILES);
    const { rows } = await pool.query<{ id: string }>(
      "SELECT aggregate_id AS id FROM stream_codes WHERE kind = 'measure' ORDER BY aggregate_id",
    );
    const head = await pool.query<{ head: string }>('SELECT max(position) AS head FROM events');
    console.log(`database: ${values.database} (kept, reused: not loaded again)`);
    return {
      url: url.toString(),
      pool,
      total: Number(head.rows[0].head),
      measureIds: rows.map((row) => row.id),
    };
  }
  const total = Number(values.events);
  const db = await createTestDatabase('bench_queries');
  teardown.add('drop the benchmark database', () =>
    values.keep ? db.dataSource.destroy() : db.drop(),
  );
  await describeRun(db.pool, DESCRIBED_FILES);
  console.log(
    `database: ${new URL(db.url).pathname.slice(1)} (${values.keep ? 'kept' : 'dropped at the end'})`,
  );
  process.stdout.write('loading: ');
  const loaded = await loadHistory(
    db.url,
    { seed: Number(values.seed), measures: Number(values.measures), events: total },
    (events) => process.stdout.write(` ${Math.round((100 * events) / total)}%`),
  );
  console.log(
    `\nloaded:   ${loaded.events.toLocaleString('en-US')} events, ` +
      `${loaded.history.measuresRecorded.toLocaleString('en-US')} measures, in ` +
      `${(loaded.loadMs / 1000).toFixed(1)} s (not measured)`,
  );
  return {
    url: db.url,
    pool: db.pool,
    total,
    measureIds: loaded.history.codes.filter((code) => code.kind === 'measure').map((c) => c.id),
  };
}

/** The paths each route cycles through, drawn deterministically. */
async function pathsOf(
  pool: Pool,
  measures: string[],
  total: number,
): Promise<{ knownAt: string; byKind: Record<Kind, string[]> }> {
  const step = Math.max(1, Math.floor(measures.length / SAMPLE));
  const ids = measures.filter((_, index) => index % step === 0);
  const { rows: middle } = await pool.query<{ recorded_at: Date }>(
    'SELECT recorded_at FROM events WHERE position >= $1 ORDER BY position LIMIT 1',
    [Math.floor(total / 2)],
  );
  const knownAt = middle[0].recorded_at.toISOString();
  const { rows: known } = await pool.query<{ id: string }>(
    `SELECT substr(stream_id, 9) AS id FROM events
      WHERE version = 1 AND stream_id LIKE 'measure-%' AND recorded_at <= $1
      ORDER BY md5(stream_id) LIMIT $2`,
    [knownAt, SAMPLE],
  );
  // List pages start at 200 cursors spread over the key space (ids are random UUIDs).
  const cursors = Array.from(
    { length: 200 },
    (_, i) =>
      `${Math.floor((i * 256) / 200)
        .toString(16)
        .padStart(2, '0')}${String(i).padStart(6, '0')}-0000-4000-8000-000000000000`,
  );
  return {
    knownAt,
    byKind: {
      bare: ids.map((id) => `/bench/bare/${id}`),
      current: ids.map((id) => `/api/v1/measures/${id}`),
      asOf: ids.map((id) => `/api/v1/measures/${id}?asOf=${AS_OF}`),
      knownAt: known.map((row) => `/api/v1/measures/${row.id}?knownAt=${knownAt}`),
      list: cursors.map((cursor) => `/api/v1/measures?${LIST_QUERY}&cursor=${cursor}`),
    },
  };
}

/** One request of each kind before timing, so that a broken route fails the run early. */
async function checkOnce(origin: string, path: string, key: string): Promise<void> {
  const response = await fetch(`${origin}${path}`, {
    headers: path.startsWith('/bench/') ? {} : { authorization: `Bearer ${key}` },
  });
  const body = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${body}`);
  console.log(
    `check:    GET ${path.slice(0, 90)} → 200, ${body.length.toLocaleString('en-US')} bytes`,
  );
}

function assertAllSucceeded(kind: Kind, result: GetLoadResult): void {
  if (result.non2xx === 0 && result.errors === 0 && result.timeouts === 0 && result.ok > 0) return;
  throw new Error(
    `${LABELS[kind]}: ${result.ok} 2xx, ${result.non2xx} other responses ` +
      `${JSON.stringify(result.statusCodes)}, ${result.errors} errors, ` +
      `${result.timeouts} timeouts: the figures would not be comparable`,
  );
}

function printSummary(kinds: Kind[], results: Record<Kind, Run[]>, connections: number): void {
  const rates = (kind: Kind) => results[kind].map((run) => run.requestsPerSecond);
  const spread = (values: number[]) =>
    `${rate(median(values))} (${rate(Math.min(...values))}–${rate(Math.max(...values))})`;
  const pooled = (kind: Kind) => ascending(results[kind].flatMap((run) => run.latenciesMs));
  const bare = median(rates('bare'));
  console.log(
    `\nReads over HTTP at ${connections} connections — req/s: median of ${results.bare.length} ` +
      'runs (min–max); latency over all runs; CPU per request (median of the runs)',
  );
  printTable(
    [
      'route',
      'req/s',
      '/ bare',
      'per-round ratios',
      'p50 / p99 ms',
      'bytes / response',
      'CPU µs per request: api (kernel share) / PostgreSQL',
      'api GC ms/s (max pause)',
      'loop delay p99 / max ms',
      'other load, cores',
      'target',
      'met',
    ],
    kinds.map((kind) => {
      const sorted = pooled(kind);
      const p99 = percentile(sorted, 99);
      const ratioToBare = median(rates(kind)) / bare;
      const target = TARGETS[kind];
      const met =
        target === undefined
          ? '–'
          : target.ratio !== undefined
            ? ratioToBare >= target.ratio
            : p99 < (target.p99Ms ?? Infinity);
      return [
        LABELS[kind],
        spread(rates(kind)),
        ratio(ratioToBare),
        rates(kind)
          .map((value, i) => ratio(value / rates('bare')[i]))
          .join(' '),
        `${ms(percentile(sorted, 50))} / ${ms(p99)}`,
        rate(median(results[kind].map((run) => run.bytesPerResponse))),
        `${rate(median(results[kind].map((run) => run.apiUs)))} ` +
          `(${percent(median(results[kind].map((run) => run.apiSystemShare)))} kernel) / ` +
          `${rate(median(results[kind].map((run) => run.postgresUs)))}`,
        `${median(results[kind].map((run) => run.gcMsPerSecond)).toFixed(0)} ` +
          `(${ms(Math.max(...results[kind].map((run) => run.gcMaxMs)))})`,
        `${ms(median(results[kind].map((run) => run.loopDelayP99Ms)))} / ` +
          `${ms(Math.max(...results[kind].map((run) => run.loopDelayMaxMs)))}`,
        results[kind].map((run) => run.otherCores.toFixed(2)).join(' '),
        target === undefined
          ? 'baseline'
          : target.ratio !== undefined
            ? `≥ ${target.ratio}× bare`
            : `p99 < ${target.p99Ms} ms`,
        met === '–' ? met : met ? 'met' : 'MISSED',
      ];
    }),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
