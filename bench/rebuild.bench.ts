/**
 * Rebuild of every projection from position zero (what `npm run cli -- projections:rebuild`
 * does) over a generated history, against the raw global-log read rate (EventStore.readAll
 * paging) measured in the same run, on a database of its own (dropped at the end).
 *
 *   npm run bench:rebuild [-- --events 1000000 --measures 100000 --rounds 2 --batch 20000]
 *
 * Loading is not measured: `bench/lib/measure-history.ts` generates the history (seeded) and
 * `bench/lib/load-history.ts` appends it through `accord_append`, command by command. Then one
 * unreported readAll pass warms the page cache, and rounds alternate a readAll pass with a
 * rebuild (ABBA order from one round to the next). The rebuild boots the CLI command's own Nest
 * module, finds the projections as the command does and times `ProjectionRebuilder.rebuild`
 * (booting excluded). Every pass must cover every event. With `--each`, each projection is then
 * rebuilt alone once, as a diagnostic.
 */
import { parseArgs } from 'node:util';
import { NestFactory } from '@nestjs/core';
import { EventStore } from '@app/event-store';
import {
  ProjectionRebuilder,
  RebuildableProjections,
  type RebuildableProjection,
  type RebuildPhase,
} from '@app/projections';
import type { Pool } from 'pg';
import { RebuildCliModule } from '../apps/cli/src/commands/projections-rebuild.command';
import { openBenchDatabase, openPool } from './lib/bench-database';
import { now } from './lib/closed-loop';
import { CpuMeter } from './lib/cpu';
import { loadHistory } from './lib/load-history';
import { describeRun } from './lib/machine';
import { median } from './lib/stats';
import { printTable, rate, ratio } from './lib/table';

const TARGET = 0.5;

interface Pass {
  eventsPerSecond: number;
  seconds: number;
  /** CPU seconds: this process (Node) and the database's backends. */
  nodeCpu: number;
  postgresCpu: number;
  phases?: Partial<Record<RebuildPhase, number>>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      measures: { type: 'string', default: '100000' },
      rounds: { type: 'string', default: '2' },
      page: { type: 'string', default: '1000' },
      batch: { type: 'string', default: '20000' },
      seed: { type: 'string', default: '1' },
      each: { type: 'boolean', default: false },
    },
  });
  const total = Number(values.events);
  const measures = Number(values.measures);
  const rounds = Number(values.rounds);
  const pageSize = Number(values.page);
  const batchEvents = Number(values.batch);

  const db = await openBenchDatabase('bench_rebuild');
  try {
    await describeRun(db.pool, [
      'libs/projections/src/rebuild/projection-rebuilder.ts',
      'libs/projections/src/rebuild/shadow-tables.ts',
      'libs/projections/src/measure-fold.ts',
      'libs/projections/src/measure-status/measure-status.projection.ts',
      'libs/projections/src/suspension-ends/suspension-ends.projection.ts',
      'libs/projections/src/timeline/timeline.projection.ts',
      'libs/projections/src/timeline/timeline-facts.ts',
      'libs/event-store/src/event-store.ts',
      'bench/lib/measure-history.ts',
    ]);
    console.log(`database: ${new URL(db.url).pathname.slice(1)} (dropped at the end)`);
    // In a function of its own so that the generated history is garbage before anything is
    // timed: held in this heap, it would make both passes pay for collecting it.
    await load(db, total, measures, Number(values.seed));

    Object.assign(process.env, { DATABASE_URL: db.url, LOG_LEVEL: 'error' });
    const app = await NestFactory.createApplicationContext(RebuildCliModule, {
      logger: ['error'],
    });
    const pool = await openPool(db.url, 1, 'bench-rebuild-read');
    try {
      const projections = app.get(RebuildableProjections).all();
      const rebuilder = app.get(ProjectionRebuilder);
      const skipped = app.get(RebuildableProjections).undeclared();
      console.log(
        `rebuilds: ${projections.map((p) => p.name).join(', ')}` +
          (skipped.length ? ` (not rebuildable: ${skipped.join(', ')})` : '') +
          `; batches of ${batchEvents.toLocaleString('en-US')} events, pages of ${pageSize}`,
      );
      console.log(`runs:     ${rounds} rounds, after an unreported readAll pass\n`);
      const store = new EventStore(pool);
      const cpu = CpuMeter.on(db.pool, undefined);
      const read = () => measured(cpu, () => readPass(store, pageSize, total));
      const rebuild = (chosen: RebuildableProjection[]) =>
        measured(cpu, () => rebuildPass(rebuilder, chosen, batchEvents, pageSize, total));

      await readPass(store, pageSize, total);
      const results: Record<'read' | 'rebuild', Pass[]> = { read: [], rebuild: [] };
      for (let round = 1; round <= rounds; round += 1) {
        const order =
          round % 2 === 1 ? (['read', 'rebuild'] as const) : (['rebuild', 'read'] as const);
        for (const kind of order) {
          const pass = kind === 'read' ? await read() : await rebuild(projections);
          results[kind].push(pass);
          console.log(
            `round ${round}  ${(kind === 'read' ? 'readAll' : 'rebuild all').padEnd(12)}` +
              ` ${rate(pass.eventsPerSecond).padStart(8)} events/s  ${pass.seconds.toFixed(1)} s` +
              `  CPU: Node ${pass.nodeCpu.toFixed(1)} s, PostgreSQL ${pass.postgresCpu.toFixed(1)} s` +
              (pass.phases ? `  ${describePhases(pass.phases)}` : ''),
          );
        }
      }
      printSummary(results, total, rounds);
      await printTables(db.pool, projections);

      if (values.each) {
        console.log('\nEach projection rebuilt alone, once (diagnostic):');
        const rowsEach: string[][] = [];
        for (const projection of projections) {
          const pass = await rebuild([projection]);
          rowsEach.push([
            projection.name,
            rate(pass.eventsPerSecond),
            ratio(pass.eventsPerSecond / median(results.read.map((r) => r.eventsPerSecond))),
            `${pass.nodeCpu.toFixed(1)} / ${pass.postgresCpu.toFixed(1)}`,
          ]);
        }
        printTable(
          ['projection', 'rebuild events/s', '/ readAll median', 'CPU s Node / PostgreSQL'],
          rowsEach,
        );
      }
    } finally {
      await pool.end();
      await app.close();
    }
  } finally {
    await db.drop();
  }
}

async function load(
  db: { url: string; pool: Pool },
  total: number,
  measures: number,
  seed: number,
): Promise<void> {
  process.stdout.write('loading: ');
  const loaded = await loadHistory(db.url, { seed, measures, events: total }, (events) =>
    process.stdout.write(` ${Math.round((100 * events) / total)}%`),
  );
  const { rows } = await db.pool.query<{ size: string }>(
    `SELECT pg_size_pretty(pg_total_relation_size('events')) AS size`,
  );
  console.log(
    `\nloaded:   ${loaded.events.toLocaleString('en-US')} events in ` +
      `${loaded.streams.toLocaleString('en-US')} streams (${loaded.history.measuresRecorded.toLocaleString('en-US')} measures; ` +
      `${rows[0].size} with indexes) in ${(loaded.loadMs / 1000).toFixed(1)} s, not measured`,
  );
  console.log(
    `          ${[...loaded.history.eventTypes]
      .sort((a, b) => b[1] - a[1])
      .map(([type, count]) => `${type} ${count.toLocaleString('en-US')}`)
      .join(', ')}`,
  );
}

async function measured(cpu: CpuMeter, work: () => Promise<Pass>): Promise<Pass> {
  const stop = await cpu.start();
  const pass = await work();
  const used = await stop();
  return { ...pass, nodeCpu: used.serverMs / 1000, postgresCpu: used.postgresMs / 1000 };
}

async function readPass(store: EventStore, pageSize: number, total: number): Promise<Pass> {
  const start = now();
  let after = 0;
  let events = 0;
  for (;;) {
    const page = await store.readAll(after, pageSize);
    if (page.events.length === 0) break;
    events += page.events.length;
    after = page.nextAfter;
  }
  if (events !== total) throw new Error(`readAll read ${events} events, expected ${total}`);
  const seconds = (now() - start) / 1000;
  return { eventsPerSecond: events / seconds, seconds, nodeCpu: 0, postgresCpu: 0 };
}

async function rebuildPass(
  rebuilder: ProjectionRebuilder,
  projections: RebuildableProjection[],
  batchEvents: number,
  pageSize: number,
  total: number,
): Promise<Pass> {
  const phases: Partial<Record<RebuildPhase, number>> = {};
  let phase: RebuildPhase | undefined;
  let since = now();
  const start = since;
  const results = await rebuilder.rebuild(projections, {
    batchEvents,
    pageSize,
    onProgress: (progress) => {
      if (progress.phase === phase) return;
      if (phase) phases[phase] = (phases[phase] ?? 0) + (now() - since) / 1000;
      phase = progress.phase;
      since = now();
    },
  });
  const seconds = (now() - start) / 1000;
  if (phase) phases[phase] = (phases[phase] ?? 0) + (now() - since) / 1000;
  for (const result of results) {
    if (result.position !== total) {
      throw new Error(`${result.name} went live at ${result.position}, expected ${total}`);
    }
  }
  return { eventsPerSecond: total / seconds, seconds, nodeCpu: 0, postgresCpu: 0, phases };
}

function describePhases(phases: Partial<Record<RebuildPhase, number>>): string {
  return Object.entries(phases)
    .map(([phase, seconds]) => `${phase} ${seconds.toFixed(1)} s`)
    .join(', ');
}

function printSummary(results: Record<'read' | 'rebuild', Pass[]>, total: number, rounds: number) {
  const rates = (kind: 'read' | 'rebuild') => results[kind].map((pass) => pass.eventsPerSecond);
  const spread = (values: number[]) =>
    `${rate(median(values))} (${rate(Math.min(...values))}–${rate(Math.max(...values))})`;
  const ratioOfMedians = median(rates('rebuild')) / median(rates('read'));
  console.log(
    `\nRebuild of all projections over ${total.toLocaleString('en-US')} events — events/s: ` +
      `median of ${rounds} passes (min–max)`,
  );
  printTable(
    [
      'readAll events/s',
      'rebuild all events/s',
      'rebuild / readAll',
      'per-round ratios',
      `target ≥ ${TARGET}×`,
    ],
    [
      [
        spread(rates('read')),
        spread(rates('rebuild')),
        ratio(ratioOfMedians),
        rates('rebuild')
          .map((value, i) => ratio(value / rates('read')[i]))
          .join(' '),
        ratioOfMedians >= TARGET ? 'met' : 'MISSED',
      ],
    ],
  );
}

/** What a rebuild writes, beside what it reads. */
async function printTables(pool: Pool, projections: RebuildableProjection[]): Promise<void> {
  const tables = ['events', ...projections.flatMap((projection) => projection.tables)];
  const { rows } = await pool.query<{ name: string; rows: string; size: string }>(
    `SELECT t.name, c.reltuples::bigint AS rows,
            pg_size_pretty(pg_total_relation_size(c.oid)) AS size
       FROM unnest($1::text[]) AS t(name) JOIN pg_class c ON c.oid = to_regclass(t.name)`,
    [tables],
  );
  console.log('\nTables after the last rebuild (rows estimated by ANALYZE, sizes with indexes):');
  printTable(
    ['table', 'rows', 'size'],
    rows.map((row) => [row.name, Number(row.rows).toLocaleString('en-US'), row.size]),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
