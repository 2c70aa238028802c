/**
 * Global-log read rate of Accord's EventStore.readAll(after, 1000) against a raw keyset SELECT
 * of the same columns through `pg`, over 1,000,000 events, on a database of its own (dropped at
 * the end).
 *
 *   npm run bench:read [-- --events 1000000 --rounds 3 --page 1000]
 *
 * Loading is not measured: events are written by `accord_append` itself (so every row is a
 * valid, hash-chained event), 1,000 events per call on 1,000 streams, the batches generated
 * server-side, two connections in parallel. Then VACUUM ANALYZE and CHECKPOINT, one unreported
 * warm-up pass, and full passes alternated raw/Accord (ABBA order from one round to the next).
 * Both readers use one connection and pg's default type parsing (jsonb → objects,
 * timestamptz → Date, bigint → string).
 */
import { parseArgs } from 'node:util';
import { EventStore } from '@app/event-store';
import type { Pool } from 'pg';
import { openBenchDatabase, openPool } from './lib/bench-database';
import { now } from './lib/closed-loop';
import { commandMetadata, measureSuspended } from './lib/event-fixture';
import { describeRun } from './lib/machine';
import { median, pooledPercentile, Recorder, summarize, type RunSummary } from './lib/stats';
import { ms, printTable, rate, ratio } from './lib/table';

const TARGET = 0.8;
const EVENTS_PER_APPEND = 1000;
const STREAMS_PER_STATEMENT = 25;

// The columns EventStore.readAll selects (event-store.ts, EVENT_COLUMNS).
const RAW_PAGE_SQL = `SELECT position, event_id, stream_id, version, type, schema_version, payload, metadata, recorded_at
  FROM events WHERE position > $1 ORDER BY position LIMIT $2`;

type Reader = 'raw' | 'accord';
const LABELS: Record<Reader, string> = {
  raw: 'raw keyset SELECT (pg)',
  accord: 'Accord readAll',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '3' },
      page: { type: 'string', default: '1000' },
    },
  });
  const total = Number(values.events);
  const rounds = Number(values.rounds);
  const pageSize = Number(values.page);

  const db = await openBenchDatabase('bench_read');
  try {
    await describeRun(db.pool, [
      'libs/event-store/src/event-store.ts',
      'libs/event-store/src/migrations/1764300000000-create-event-store.ts',
    ]);
    console.log(`database: ${new URL(db.url).pathname.slice(1)} (dropped at the end)`);

    const loadStart = now();
    await load(db.url, total);
    await db.pool.query('VACUUM (ANALYZE) events');
    await db.pool.query('CHECKPOINT');
    const { rows } = await db.pool.query<{ n: string; size: string }>(
      `SELECT count(*) AS n, pg_size_pretty(pg_total_relation_size('events')) AS size FROM events`,
    );
    console.log(
      `loaded:   ${Number(rows[0].n).toLocaleString('en-US')} events (${rows[0].size} with indexes)` +
        ` in ${((now() - loadStart) / 1000).toFixed(1)} s, not measured`,
    );
    console.log(`runs:     ${rounds} full passes per reader, pages of ${pageSize}\n`);

    const pool = await openPool(db.url, 1, 'bench-read');
    try {
      const store = new EventStore(pool);
      const pass = (reader: Reader) =>
        reader === 'raw' ? rawPass(pool, pageSize) : accordPass(store, pageSize);

      await pass('raw'); // warm-up: the table into the page cache; not reported
      const results: Record<Reader, RunSummary[]> = { raw: [], accord: [] };
      for (let round = 1; round <= rounds; round += 1) {
        const order: Reader[] = round % 2 === 1 ? ['raw', 'accord'] : ['accord', 'raw'];
        for (const reader of order) {
          const summary = await pass(reader);
          if (summary.events !== total) {
            throw new Error(`${LABELS[reader]} read ${summary.events} events, expected ${total}`);
          }
          results[reader].push(summary);
          console.log(
            `round ${round}  ${LABELS[reader].padEnd(24)} ${rate(summary.eventsPerSecond).padStart(8)} events/s` +
              `  ${(summary.elapsedMs / 1000).toFixed(2)} s  page p50 ${ms(summary.p50Ms)} ms` +
              `  p99 ${ms(summary.p99Ms)} ms`,
          );
        }
      }
      printSummary(results, rounds, total, pageSize);
    } finally {
      await pool.end();
    }
  } finally {
    await db.drop();
  }
}

function printSummary(
  results: Record<Reader, RunSummary[]>,
  rounds: number,
  total: number,
  pageSize: number,
): void {
  const rates = (reader: Reader) => results[reader].map((r) => r.eventsPerSecond);
  const spread = (values: number[]) =>
    `${rate(median(values))} (${rate(Math.min(...values))}–${rate(Math.max(...values))})`;
  const ratioOfMedians = median(rates('accord')) / median(rates('raw'));
  console.log(
    `\nGlobal log, ${total.toLocaleString('en-US')} events, pages of ${pageSize} — events/s:` +
      ` median of ${rounds} passes (min–max); page latency over all passes`,
  );
  printTable(
    [
      'raw keyset SELECT events/s',
      'Accord readAll events/s',
      'Accord / raw',
      'per-round ratios',
      'raw page p50 / p99 ms',
      'Accord page p50 / p99 ms',
      `target ≥ ${TARGET}×`,
    ],
    [
      [
        spread(rates('raw')),
        spread(rates('accord')),
        ratio(ratioOfMedians),
        rates('accord')
          .map((value, i) => ratio(value / rates('raw')[i]))
          .join(' '),
        `${ms(pooledPercentile(results.raw, 50))} / ${ms(pooledPercentile(results.raw, 99))}`,
        `${ms(pooledPercentile(results.accord, 50))} / ${ms(pooledPercentile(results.accord, 99))}`,
        ratioOfMedians >= TARGET ? 'met' : 'MISSED',
      ],
    ],
  );
}

async function rawPass(pool: Pool, pageSize: number): Promise<RunSummary> {
  const recorder = new Recorder();
  const start = now();
  let after = 0;
  for (;;) {
    const pageStart = now();
    const { rows } = await pool.query<{ position: string }>(RAW_PAGE_SQL, [after, pageSize]);
    if (rows.length === 0) break;
    recorder.ok(now() - pageStart, rows.length);
    after = Number(rows[rows.length - 1].position);
  }
  return summarize(recorder, now() - start);
}

async function accordPass(store: EventStore, pageSize: number): Promise<RunSummary> {
  const recorder = new Recorder();
  const start = now();
  let after = 0;
  for (;;) {
    const pageStart = now();
    const page = await store.readAll(after, pageSize);
    if (page.events.length === 0) break;
    recorder.ok(now() - pageStart, page.events.length);
    after = page.nextAfter;
  }
  return summarize(recorder, now() - start);
}

/**
 * Writes `total` events through accord_append, EVENTS_PER_APPEND per call, one stream per call,
 * the event batches built server-side from the benchmark's fixture event.
 */
async function load(url: string, total: number): Promise<void> {
  const streams = Math.ceil(total / EVENTS_PER_APPEND);
  const { type, payload } = measureSuspended(0);
  const metadata = commandMetadata('', 0);
  const pool = await openPool(url, 2, 'bench-read-load');
  try {
    const chunks: Array<[number, number]> = [];
    for (let first = 1; first <= streams; first += STREAMS_PER_STATEMENT) {
      chunks.push([first, Math.min(streams, first + STREAMS_PER_STATEMENT - 1)]);
    }
    let done = 0;
    const worker = async () => {
      for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
        await pool.query(
          `SELECT count(accord_append(
              'measure-read-' || s, 0, 'load-' || s,
              (SELECT jsonb_agg(jsonb_build_object(
                  'eventId', gen_random_uuid(),
                  'type', $3::text,
                  'schemaVersion', 1,
                  'payload', $4::jsonb
                    || jsonb_build_object('measureId', 'msr-' || lpad((s * $6 + g)::text, 10, '0')),
                  'metadata', $5::jsonb || jsonb_build_object('commandId', 'load-' || s)
                ) ORDER BY g)
               FROM generate_series(1, least($6, $7 - (s - 1) * $6)) g)))
             FROM generate_series($1::int, $2::int) s`,
          [
            chunk[0],
            chunk[1],
            type,
            JSON.stringify(payload),
            JSON.stringify(metadata),
            EVENTS_PER_APPEND,
            total,
          ],
        );
        const before = Math.floor((10 * done) / streams);
        done += chunk[1] - chunk[0] + 1;
        if (Math.floor((10 * done) / streams) > before) {
          process.stdout.write(` ${Math.floor((100 * done) / streams)}%`);
        }
      }
    };
    process.stdout.write('loading: ');
    await Promise.all([worker(), worker()]);
    process.stdout.write('\n');
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
