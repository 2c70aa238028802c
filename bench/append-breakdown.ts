/**
 * Where the time of an Accord append goes, next to the raw INSERT of bench/append.bench.ts.
 * A diagnostic, not a figure for docs/benchmarks.md on its own:
 *
 *   node -r @swc-node/register bench/append-breakdown.ts [--seconds 3 --rounds 2]
 *
 * 1. Throughput, interleaved, at concurrency 1 and 8: raw INSERT; `SELECT accord_append(...)`
 *    called directly through pg (no EventStore wrapper, no NOTIFY); EventStore.append on a pool
 *    of `c` connections (as in the benchmark); EventStore.append on `c + 1` connections.
 * 2. Cost per operation on one connection, 2,000 operations each: server CPU of the backend
 *    (from /proc, so PostgreSQL must run on this machine), transaction ids consumed and WAL
 *    written (both cluster-wide counters: other activity on the server adds to them). Includes
 *    `bench_append_digest_inlined`, a copy of accord_append made in this database whose digest
 *    helper is declared STABLE so that the planner can inline it (the original is IMMUTABLE
 *    over STABLE functions, so it runs through the SQL-function executor on every event).
 * 3. EXPLAIN (ANALYZE, BUFFERS, WAL) of one raw INSERT and one accord_append.
 * 4. The hot stream at concurrency 8, with EventStore on a plain pg Pool and on a Pool whose
 *    query() returns the connection to the pool even when the statement failed: committed
 *    events/s, new server sessions opened during the run (pg_stat_database.sessions), what the
 *    backends wait on (pg_stat_activity sampled every 5 ms) and how long appends take.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EventStore, WrongExpectedVersionError } from '@app/event-store';
import type { Pool } from 'pg';
import { openBenchDatabase, openPool } from './lib/bench-database';
import { now, runClosedLoop } from './lib/closed-loop';
import { commandMetadata, measureSuspended } from './lib/event-fixture';
import { describeRun } from './lib/machine';
import { median, percentile, ascending, Recorder, summarize } from './lib/stats';
import { ms, percent, printTable, rate, ratio } from './lib/table';

const RAW_INSERT = 'INSERT INTO bench_raw_events (payload, metadata) VALUES ($1, $2)';
const ACCORD_APPEND = 'SELECT accord_append($1, $2, $3, $4) AS result';

/** The arguments EventStore.append sends for one event on a new stream with a command id. */
function appendArgs(tag: string, n: number, withCommandId = true): unknown[] {
  const commandId = randomUUID();
  const event = measureSuspended(n);
  return [
    `measure-${tag}-${n}`,
    0,
    withCommandId ? commandId : null,
    JSON.stringify([
      {
        eventId: randomUUID(),
        type: event.type,
        schemaVersion: 1,
        payload: event.payload,
        metadata: commandMetadata(commandId, n),
      },
    ]),
  ];
}

function rawArgs(n: number): unknown[] {
  return [
    JSON.stringify(measureSuspended(n).payload),
    JSON.stringify(commandMetadata(randomUUID(), n)),
  ];
}

type Variant = 'raw' | 'direct' | 'store' | 'store+1';
const LABELS: Record<Variant, string> = {
  raw: 'raw INSERT',
  direct: 'SELECT accord_append (pg, no NOTIFY)',
  store: 'EventStore.append, pool = c',
  'store+1': 'EventStore.append, pool = c + 1',
};

async function throughput(url: string, variant: Variant, c: number, durationMs: number) {
  const pool = await openPool(url, variant === 'store+1' ? c + 1 : c, `breakdown-${variant}`);
  const store = new EventStore(pool);
  const recorder = new Recorder();
  const tag = randomBytes(4).toString('hex');
  let seq = 0;
  try {
    const elapsed = await runClosedLoop(c, durationMs, async (_, deadline) => {
      while (now() < deadline) {
        const n = seq++;
        if (variant === 'raw') {
          const args = rawArgs(n);
          const start = now();
          await pool.query(RAW_INSERT, args);
          recorder.ok(now() - start);
        } else if (variant === 'direct') {
          const args = appendArgs(tag, n);
          const start = now();
          await pool.query(ACCORD_APPEND, args);
          recorder.ok(now() - start);
        } else {
          const commandId = randomUUID();
          const event = { ...measureSuspended(n), metadata: commandMetadata(commandId, n) };
          const start = now();
          await store.append(`measure-${tag}-${n}`, [event], {
            expectedVersion: 'no-stream',
            commandId,
          });
          recorder.ok(now() - start);
        }
      }
    });
    return summarize(recorder, elapsed);
  } finally {
    await store.close();
    await pool.end();
  }
}

/** utime + stime of a process in clock ticks (100 per second on Linux). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function costPerOperation(url: string, admin: Pool) {
  const operations = 2000;
  const tag = randomBytes(4).toString('hex');
  const kinds: Array<[string, (pool: Pool, store: EventStore, n: number) => Promise<unknown>]> = [
    ['raw INSERT', (pool, _, n) => pool.query(RAW_INSERT, rawArgs(n))],
    [
      'SELECT accord_append, with command id',
      (pool, _, n) => pool.query(ACCORD_APPEND, appendArgs(`${tag}a`, n)),
    ],
    [
      'SELECT accord_append, no command id',
      (pool, _, n) => pool.query(ACCORD_APPEND, appendArgs(`${tag}b`, n, false)),
    ],
    [
      'SELECT bench_append_digest_inlined (copy, digest inlinable)',
      (pool, _, n) =>
        pool.query(
          ACCORD_APPEND.replace('accord_append', 'bench_append_digest_inlined'),
          appendArgs(`${tag}d`, n),
        ),
    ],
    [
      "SELECT pg_notify('accord_events', '')",
      (pool) => pool.query("SELECT pg_notify('accord_events', '')"),
    ],
    ['SELECT 1 (round trip only)', (pool) => pool.query('SELECT 1')],
    [
      'EventStore.append (pool of 1: append + NOTIFY)',
      (_, store, n) => {
        const commandId = randomUUID();
        return store.append(
          `measure-${tag}c-${n}`,
          [{ ...measureSuspended(n), metadata: commandMetadata(commandId, n) }],
          {
            expectedVersion: 'no-stream',
            commandId,
          },
        );
      },
    ],
  ];
  const rows: string[][] = [];
  for (const [label, op] of kinds) {
    const pool = await openPool(url, 1, 'breakdown-cost');
    const store = new EventStore(pool);
    const { rows: pidRows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = pidRows[0].pid;
    for (let n = 0; n < 200; n += 1) await op(pool, store, -n - 1); // warm-up
    await store.close();
    const state = async () => {
      const { rows: r } = await admin.query<{ xid: string; lsn: string }>(
        `SELECT pg_current_xact_id()::text AS xid, (pg_current_wal_lsn() - '0/0')::text AS lsn`,
      );
      return { xid: Number(r[0].xid), lsn: Number(r[0].lsn), cpu: cpuTicks(pid) };
    };
    const before = await state();
    const clientCpu = process.cpuUsage();
    const start = now();
    for (let n = 0; n < operations; n += 1) await op(pool, store, n);
    await store.close();
    const elapsed = now() - start;
    const client = process.cpuUsage(clientCpu);
    const after = await state();
    rows.push([
      label,
      ms(elapsed / operations),
      `${((((after.cpu - before.cpu) * 10) / operations) * 1000).toFixed(0)}`,
      `${((client.user + client.system) / operations).toFixed(0)}`,
      ((after.xid - before.xid - 1) / operations).toFixed(2),
      Math.round((after.lsn - before.lsn) / operations).toLocaleString('en-US'),
    ]);
    await pool.end();
  }
  console.log(`\nCost per operation, one connection, ${operations} operations each (sequential)`);
  printTable(
    [
      'operation',
      'wall ms/op',
      'backend CPU µs/op',
      'client CPU µs/op',
      'xids/op',
      'WAL bytes/op (cluster-wide)',
    ],
    rows,
  );
}

async function explainBoth(pool: Pool) {
  const tag = randomBytes(4).toString('hex');
  for (const [label, sql, args] of [
    ['raw INSERT', `EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF) ${RAW_INSERT}`, rawArgs(1)],
    [
      'accord_append',
      `EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF) ${ACCORD_APPEND}`,
      appendArgs(tag, 1),
    ],
  ] as const) {
    // Run each a few times first so the plans and the plpgsql function are cached.
    for (let i = 0; i < 20; i += 1) {
      await pool.query(sql, label === 'raw INSERT' ? rawArgs(i) : appendArgs(tag, 100 + i));
    }
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(sql, args);
    console.log(`\nEXPLAIN (ANALYZE, BUFFERS, WAL) — ${label}`);
    for (const row of rows) console.log(`  ${row['QUERY PLAN']}`);
  }
}

/**
 * Makes pool.query() give the connection back to the pool even when the statement failed. pg's
 * own Pool.query releases with the error, which closes the connection (pg-pool `_release`).
 */
function keepConnectionsOnError(pool: Pool): Pool {
  const query = async (text: string, values?: unknown[]) => {
    const client = await pool.connect();
    try {
      return await client.query(text, values);
    } finally {
      client.release();
    }
  };
  (pool as unknown as { query: typeof query }).query = query;
  return pool;
}

async function hotStream(url: string, admin: Pool, durationMs: number, keepOnError: boolean) {
  const c = 8;
  const name = keepOnError ? 'breakdown-hot-keep' : 'breakdown-hot';
  const opened = await openPool(url, c, name);
  const pool = keepOnError ? keepConnectionsOnError(opened) : opened;
  const store = new EventStore(pool);
  const streamId = `agreement-hot-${randomBytes(4).toString('hex')}`;
  await store.append(streamId, [measureSuspended(-1)], { expectedVersion: 'no-stream' });
  const sessions = async () => {
    const { rows } = await admin.query<{ sessions: string }>(
      'SELECT sessions::text FROM pg_stat_database WHERE datname = current_database()',
    );
    return Number(rows[0].sessions);
  };
  // pg_stat_database is refreshed at most every 500 ms.
  await new Promise((resolve) => setTimeout(resolve, 600));
  const sessionsBefore = await sessions();
  const won: number[] = [];
  const lost: number[] = [];
  const reads: number[] = [];
  const samples = new Map<string, number>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const { rows } = await admin.query<{ what: string }>(
        `SELECT CASE
                  WHEN wait_event_type IS NULL AND state = 'active' THEN 'running on CPU (or runnable)'
                  WHEN state = 'idle' THEN 'idle (waiting for the client)'
                  ELSE coalesce(wait_event_type, '') || ':' || coalesce(wait_event, '') || ' (' || state || ')'
                END AS what
           FROM pg_stat_activity WHERE application_name = $1`,
        [name],
      );
      for (const row of rows) samples.set(row.what, (samples.get(row.what) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  let seq = 0;
  const elapsed = await runClosedLoop(c, durationMs, async (_, deadline) => {
    while (now() < deadline) {
      const n = seq++;
      const commandId = randomUUID();
      const event = { ...measureSuspended(n), metadata: commandMetadata(commandId, n) };
      for (;;) {
        const readStart = now();
        const version = await store.streamVersion(streamId);
        reads.push(now() - readStart);
        const start = now();
        try {
          await store.append(streamId, [event], { expectedVersion: version, commandId });
          won.push(now() - start);
          break;
        } catch (error) {
          if (!(error instanceof WrongExpectedVersionError)) throw error;
          lost.push(now() - start);
        }
      }
    }
  });
  sampling = false;
  await sampler;
  await store.close();
  await pool.end();
  await new Promise((resolve) => setTimeout(resolve, 600));
  const newSessions = (await sessions()) - sessionsBefore;

  console.log(
    `\nHot stream, c = 8, ${durationMs / 1000} s, ${keepOnError ? 'connection kept when a statement fails (bench-only pool)' : 'EventStore on a plain pg Pool (as in the benchmark)'}:` +
      ` ${rate(won.length / (elapsed / 1000))} committed events/s, ${lost.length} conflicts` +
      ` (${percent(lost.length / (won.length + lost.length))}), ${newSessions} new server sessions opened during the run`,
  );
  printTable(
    ['step', 'count', 'p50 ms', 'p90 ms', 'p99 ms'],
    [
      ['version read (SELECT version)', reads],
      ['append that committed', won],
      ['append that lost (WrongExpectedVersionError)', lost],
    ].map(([label, values]) => {
      const sorted = ascending(values as number[]);
      return [
        label as string,
        String(sorted.length),
        ms(percentile(sorted, 50)),
        ms(percentile(sorted, 90)),
        ms(percentile(sorted, 99)),
      ];
    }),
  );
  const total = [...samples.values()].reduce((a, b) => a + b, 0);
  printTable(
    ['backend state / wait event (pg_stat_activity samples)', 'share'],
    [...samples.entries()]
      .sort((a, b) => b[1] - a[1])
      .filter(([, count]) => count / total >= 0.005)
      .map(([what, count]) => [what, percent(count / total)]),
  );
}

/** A copy of accord_append whose digest helper is declared STABLE, hence inlinable. */
async function createDigestInlinedCopy(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ append: string; digest: string }>(
    `SELECT pg_get_functiondef('accord_append'::regproc) AS append,
            pg_get_functiondef('accord_event_digest_input'::regproc) AS digest`,
  );
  await pool.query(
    rows[0].digest
      .replace('public.accord_event_digest_input(', 'public.bench_digest_input_stable(')
      .replace(/\bIMMUTABLE\b/, 'STABLE'),
  );
  await pool.query(
    rows[0].append
      .replace('public.accord_append(', 'public.bench_append_digest_inlined(')
      .replace('accord_event_digest_input(', 'bench_digest_input_stable('),
  );
  const { rows: plan } = await pool.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (VERBOSE, COSTS OFF) SELECT accord_event_digest_input('\\x', 's', 1, gen_random_uuid(), 't', 1, '{}', '{}', now()),
                                         bench_digest_input_stable('\\x', 's', 1, gen_random_uuid(), 't', 1, '{}', '{}', now())`,
  );
  console.log(
    '\nThe digest helper as planned: the original (IMMUTABLE) first, the STABLE copy second',
  );
  for (const row of plan) console.log(`  ${row['QUERY PLAN'].replace(/\n/g, '\\n')}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '3' },
      rounds: { type: 'string', default: '2' },
    },
  });
  const durationMs = Number(values.seconds) * 1000;
  const rounds = Number(values.rounds);
  const db = await openBenchDatabase('bench_breakdown');
  try {
    await describeRun(db.pool, [
      'libs/event-store/src/event-store.ts',
      'libs/event-store/src/migrations/1764300000000-create-event-store.ts',
    ]);
    await db.pool.query(`
      CREATE TABLE bench_raw_events (
        id bigserial PRIMARY KEY, payload jsonb NOT NULL, metadata jsonb NOT NULL)`);
    const admin = await openPool(db.url, 1, 'breakdown-admin');

    const variants: Variant[] = ['raw', 'direct', 'store', 'store+1'];
    for (const c of [1, 8]) {
      for (const variant of variants) await throughput(db.url, variant, c, 500); // warm-up
      const rates = new Map<Variant, number[]>();
      for (let round = 1; round <= rounds; round += 1) {
        const order = round % 2 === 1 ? variants : [...variants].reverse();
        for (const variant of order) {
          const summary = await throughput(db.url, variant, c, durationMs);
          rates.set(variant, [...(rates.get(variant) ?? []), summary.eventsPerSecond]);
        }
      }
      console.log(
        `\nThroughput at concurrency ${c} (median of ${rounds} interleaved runs of ${values.seconds} s)`,
      );
      const raw = median(rates.get('raw') ?? []);
      printTable(
        ['variant', 'events/s', 'runs', '/ raw'],
        variants.map((variant) => [
          LABELS[variant],
          rate(median(rates.get(variant) ?? [])),
          (rates.get(variant) ?? []).map(rate).join(', '),
          ratio(median(rates.get(variant) ?? []) / raw),
        ]),
      );
    }

    await createDigestInlinedCopy(admin);
    await costPerOperation(db.url, admin);
    await explainBoth(admin);
    await hotStream(db.url, admin, 5000, false);
    await hotStream(db.url, admin, 5000, true);
    await admin.end();
  } finally {
    await db.drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
