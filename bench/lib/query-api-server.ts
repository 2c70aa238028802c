/**
 * The api of `npm run bench:queries` in a process of its own (started by query-api.ts), as
 * `npm run start:api` runs it in production: `createApi()` plus the bare baseline route, and
 * nothing of the benchmark's (its loaded history, its results, the load generator's IPC) in
 * the same heap or on the same event loop. The environment names the database and the admin
 * key; Node options (e.g. `--max-semi-space-size`) come from the parent's `execArgv`.
 *
 * Messages: it sends `{ type: 'ready', origin }` once it listens; `{ type: 'start' }` starts a
 * measurement window and `{ type: 'stop' }` ends it, answered with `{ type: 'stats', stats }`:
 * the process's CPU, its garbage-collection pauses and its event-loop delay in the window.
 * `{ type: 'start', profile: file }` also samples the CPU in the window into that
 * `.cpuprofile` (for investigating: the sampling costs CPU of its own).
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { Logger } from '@nestjs/common';
import { stopOnSignals } from '@app/config';
import { createApi } from '../../apps/api/src/create-api';
import { BenchReadApiModule } from './bare-select.module';

/** What the api process did in a measurement window. */
export interface ApiProcessStats {
  /** User + system CPU, ms. */
  cpuMs: number;
  /** The system (kernel) part of it: sockets to PostgreSQL and to clients, mostly. */
  systemMs: number;
  wallMs: number;
  /** Scavenges (young generation) and mark-compacts (old generation, incl. incremental steps). */
  gc: {
    minorCount: number;
    minorMs: number;
    majorCount: number;
    majorMs: number;
    /** The longest single pause, ms. */
    maxMs: number;
  };
  /** How late timers fired: the event loop's stalls, ms. */
  loopDelay: { p50Ms: number; p99Ms: number; maxMs: number };
  /** Heap in use at the end of the window, MiB. */
  heapUsedMiB: number;
}

export type ApiProcessMessage =
  | { type: 'ready'; origin: string }
  | { type: 'started' }
  | { type: 'stats'; stats: ApiProcessStats };

function newGcTotals(): ApiProcessStats['gc'] {
  return { minorCount: 0, minorMs: 0, majorCount: 0, majorMs: 0, maxMs: 0 };
}

async function main(): Promise<void> {
  const app = await createApi(BenchReadApiModule);
  // As main.ts does: SIGTERM closes the app (and its pool) and exits.
  stopOnSignals(app, {
    name: 'Benchmark api',
    timeoutMs: 10_000,
    logger: new Logger('BenchApi'),
    whenCutShort: 'Requests still in flight were cut off.',
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const origin = (await app.getUrl()).replace('[::1]', '127.0.0.1');

  let gc = newGcTotals();
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
        gc.minorCount += 1;
        gc.minorMs += entry.duration;
      } else {
        gc.majorCount += 1;
        gc.majorMs += entry.duration;
      }
      gc.maxMs = Math.max(gc.maxMs, entry.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();

  let cpu = process.cpuUsage();
  let started = performance.now();
  let profiling: { session: Session; file: string } | undefined;
  process.on('message', (message: { type: string; profile?: string }) => {
    void onMessage(message);
  });
  async function onMessage(message: { type: string; profile?: string }): Promise<void> {
    if (message.type === 'start') {
      if (message.profile) {
        const session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.setSamplingInterval', { interval: 200 });
        await session.post('Profiler.start');
        profiling = { session, file: message.profile };
      }
      gc = newGcTotals();
      loop.reset();
      cpu = process.cpuUsage();
      started = performance.now();
      process.send?.({ type: 'started' } satisfies ApiProcessMessage);
    } else if (message.type === 'stop') {
      if (profiling) {
        const { profile } = await profiling.session.post('Profiler.stop');
        profiling.session.disconnect();
        await writeFile(profiling.file, JSON.stringify(profile));
        profiling = undefined;
      }
      const used = process.cpuUsage(cpu);
      const stats: ApiProcessStats = {
        cpuMs: (used.user + used.system) / 1000,
        systemMs: used.system / 1000,
        wallMs: performance.now() - started,
        gc,
        loopDelay: {
          p50Ms: loop.percentile(50) / 1e6,
          p99Ms: loop.percentile(99) / 1e6,
          maxMs: loop.max / 1e6,
        },
        heapUsedMiB: process.memoryUsage().heapUsed / 2 ** 20,
      };
      process.send?.({ type: 'stats', stats } satisfies ApiProcessMessage);
    }
  }
  process.send?.({ type: 'ready', origin } satisfies ApiProcessMessage);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
