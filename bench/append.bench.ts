/**
 * Append throughput and latency of Accord's EventStore.append against a raw single-row INSERT
 * loop through `pg`, at concurrency 1 and 8, on a database of its own (dropped at the end).
 *
 *   npm run bench:append [-- --seconds 5 --rounds 3]
 *
 * Scenarios, each run for a fixed duration, alternated within a round (ABBA order from one
 * round to the next) so that drift on a noisy machine shows up as spread, not as a ratio:
 *  - raw:      INSERT INTO bench_raw_events (payload, metadata) VALUES ($1, $2), autocommit;
 *  - distinct: one event per command on a new stream, expectedVersion 'no-stream', a command id;
 *  - hot:      every client appends to one stream: read its version, append with that expected
 *              version, re-read and retry on WrongExpectedVersionError.
 * A pool of exactly `concurrency` connections per run; every payload is the same ~500-byte event.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { EventStore, WrongExpectedVersionError } from '@app/event-store';
import { openBenchDatabase, openPool } from './lib/bench-database';
import { now, runClosedLoop } from './lib/closed-loop';
import { commandMetadata, measureSuspended } from './lib/event-fixture';
import { describeRun } from './lib/machine';
import { median, pooledPercentile, Recorder, summarize, type RunSummary } from './lib/stats';
import { ms, percent, printTable, rate, ratio } from './lib/table';

const TARGET = 0.8;

type Kind = 'raw' | 'distinct' | 'hot';
interface Scenario {
  kind: Kind;
  concurrency: number;
}

const LABELS: Record<Kind, string> = {
  raw: 'raw INSERT (pg)',
  distinct: 'Accord append, distinct streams',
  hot: 'Accord append, one hot stream',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const durationMs = Number(values.seconds) * 1000;
  const rounds = Number(values.rounds);

  const db = await openBenchDatabase('bench_append');
  try {
    await describeRun(db.pool, [
      'libs/event-store/src/event-store.ts',
      'libs/event-store/src/migrations/1764300000000-create-event-store.ts',
    ]);
    console.log(`database: ${new URL(db.url).pathname.slice(1)} (dropped at the end)`);
    console.log(`runs:     ${rounds} rounds × ${values.seconds} s per scenario, closed loop\n`);
    await db.pool.query(`
      CREATE TABLE bench_raw_events (
        id bigserial PRIMARY KEY,
        payload jsonb NOT NULL,
        metadata jsonb NOT NULL
      )`);

    const run = (scenario: Scenario, duration: number) =>
      scenario.kind === 'raw'
        ? runRaw(db.url, scenario.concurrency, duration)
        : scenario.kind === 'distinct'
          ? runDistinct(db.url, scenario.concurrency, duration)
          : runHot(db.url, scenario.concurrency, duration);

    const c1: Scenario[] = [
      { kind: 'raw', concurrency: 1 },
      { kind: 'distinct', concurrency: 1 },
      { kind: 'hot', concurrency: 1 },
    ];
    const c8: Scenario[] = [
      { kind: 'raw', concurrency: 8 },
      { kind: 'distinct', concurrency: 8 },
      { kind: 'hot', concurrency: 8 },
    ];

    // Warm-up (JIT, plan caches, the tables' first pages); not reported.
    for (const scenario of [...c1, ...c8]) await run(scenario, 1000);

    const results = new Map<string, RunSummary[]>();
    const key = (s: Scenario) => `${s.kind}-${s.concurrency}`;
    for (let round = 1; round <= rounds; round += 1) {
      const order = round % 2 === 1 ? [...c1, ...c8] : [...[...c1].reverse(), ...[...c8].reverse()];
      for (const scenario of order) {
        const summary = await run(scenario, durationMs);
        results.set(key(scenario), [...(results.get(key(scenario)) ?? []), summary]);
        console.log(
          `round ${round}  ${LABELS[scenario.kind].padEnd(32)} c=${scenario.concurrency}  ` +
            `${rate(summary.eventsPerSecond).padStart(6)} events/s  ` +
            `p50 ${ms(summary.p50Ms).padStart(6)} ms  p99 ${ms(summary.p99Ms).padStart(7)} ms` +
            (scenario.kind === 'hot' ? `  conflicts ${percent(summary.conflictRate)}` : ''),
        );
      }
    }

    printSummary(results, rounds);
  } finally {
    await db.drop();
  }
}

function printSummary(results: Map<string, RunSummary[]>, rounds: number): void {
  const runs = (kind: Kind, c: number) => results.get(`${kind}-${c}`) ?? [];
  const rates = (kind: Kind, c: number) => runs(kind, c).map((r) => r.eventsPerSecond);
  const spread = (values: number[]) =>
    `${rate(median(values))} (${rate(Math.min(...values))}–${rate(Math.max(...values))})`;
  const perRound = (kind: Kind, c: number) =>
    rates(kind, c).map((value, i) => value / rates('raw', c)[i]);
  const latency = (kind: Kind, c: number) =>
    `${ms(pooledPercentile(runs(kind, c), 50))} / ${ms(pooledPercentile(runs(kind, c), 99))}`;

  console.log(
    `\nDistinct streams, one event per command — events/s: median of ${rounds} runs (min–max);` +
      ' latency over all runs',
  );
  printTable(
    [
      'concurrency',
      'raw INSERT events/s',
      'Accord events/s',
      'Accord / raw',
      'per-round ratios',
      'raw p50 / p99 ms',
      'Accord p50 / p99 ms',
      `target ≥ ${TARGET}×`,
    ],
    [1, 8].map((c) => {
      const ratioOfMedians = median(rates('distinct', c)) / median(rates('raw', c));
      return [
        String(c),
        spread(rates('raw', c)),
        spread(rates('distinct', c)),
        ratio(ratioOfMedians),
        perRound('distinct', c).map(ratio).join(' '),
        latency('raw', c),
        latency('distinct', c),
        ratioOfMedians >= TARGET ? 'met' : 'MISSED',
      ];
    }),
  );

  console.log('\nOne hot stream, expected-version conflicts (read version → append → retry)');
  printTable(
    [
      'concurrency',
      'committed events/s',
      'conflict rate',
      'append p50 / p99 ms (successful)',
      'command p50 / p99 ms (with retries)',
      'raw INSERT events/s',
      'Accord / raw',
    ],
    [1, 8].map((c) => {
      const hot = runs('hot', c);
      const conflicts = hot.reduce((sum, r) => sum + r.conflicts, 0);
      const attempts = hot.reduce((sum, r) => sum + r.attempts, 0);
      return [
        String(c),
        spread(rates('hot', c)),
        percent(attempts === 0 ? 0 : conflicts / attempts),
        latency('hot', c),
        `${ms(pooledPercentile(hot, 50, 'commandLatenciesMs'))} / ${ms(pooledPercentile(hot, 99, 'commandLatenciesMs'))}`,
        spread(rates('raw', c)),
        ratio(median(rates('hot', c)) / median(rates('raw', c))),
      ];
    }),
  );
}

async function runRaw(url: string, concurrency: number, durationMs: number): Promise<RunSummary> {
  const pool = await openPool(url, concurrency, 'bench-raw');
  const recorder = new Recorder();
  let seq = 0;
  try {
    const elapsed = await runClosedLoop(concurrency, durationMs, async (_, deadline) => {
      while (now() < deadline) {
        const n = seq++;
        const { payload } = measureSuspended(n);
        const metadata = commandMetadata(randomUUID(), n);
        const start = now();
        await pool.query('INSERT INTO bench_raw_events (payload, metadata) VALUES ($1, $2)', [
          JSON.stringify(payload),
          JSON.stringify(metadata),
        ]);
        recorder.ok(now() - start);
      }
    });
    return summarize(recorder, elapsed);
  } finally {
    await pool.end();
  }
}

async function runDistinct(
  url: string,
  concurrency: number,
  durationMs: number,
): Promise<RunSummary> {
  const pool = await openPool(url, concurrency, 'bench-accord');
  const store = new EventStore(pool);
  const recorder = new Recorder();
  const tag = randomBytes(4).toString('hex');
  let seq = 0;
  try {
    const elapsed = await runClosedLoop(concurrency, durationMs, async (_, deadline) => {
      while (now() < deadline) {
        const n = seq++;
        const commandId = randomUUID();
        const event = { ...measureSuspended(n), metadata: commandMetadata(commandId, n) };
        const start = now();
        await store.append(`measure-${tag}-${n}`, [event], {
          expectedVersion: 'no-stream',
          commandId,
        });
        recorder.ok(now() - start);
      }
    });
    return summarize(recorder, elapsed);
  } finally {
    await store.close();
    await pool.end();
  }
}

async function runHot(url: string, concurrency: number, durationMs: number): Promise<RunSummary> {
  const pool = await openPool(url, concurrency, 'bench-accord-hot');
  const store = new EventStore(pool);
  const recorder = new Recorder();
  const streamId = `agreement-hot-${randomBytes(4).toString('hex')}`;
  let seq = 0;
  try {
    await store.append(streamId, [measureSuspended(-1)], { expectedVersion: 'no-stream' });
    const elapsed = await runClosedLoop(concurrency, durationMs, async (_, deadline) => {
      while (now() < deadline) {
        const n = seq++;
        const commandId = randomUUID();
        const event = { ...measureSuspended(n), metadata: commandMetadata(commandId, n) };
        const commandStart = now();
        for (;;) {
          const version = await store.streamVersion(streamId);
          const start = now();
          try {
            await store.append(streamId, [event], { expectedVersion: version, commandId });
            recorder.ok(now() - start);
            break;
          } catch (error) {
            if (!(error instanceof WrongExpectedVersionError)) throw error;
            recorder.conflict();
          }
        }
        recorder.command(now() - commandStart);
      }
    });
    return summarize(recorder, elapsed);
  } finally {
    await store.close();
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
