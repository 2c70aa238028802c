/**
 * Expiry alerts (issue 5, "Performance"), on a PostgreSQL database and a Redis logical database
 * of their own (`--redis-db`, which must be empty; both dropped/flushed at the end, Ctrl-C
 * included).
 *
 *   npm run bench:alerts [-- --suspensions 100000 --due 1000 --subscriptions 50 --chunk 1000
 *                             --redis-db 9 --parts a,b,c,d] [--receiver-in-process] [--profile DIR]
 *
 * (b) `--due` alerts due at the same instant, each for `--subscriptions` subscriptions (their own
 *     lead time `PT1H`) pointing at a counting receiver on loopback; the worker's alert and
 *     webhook delivery sides run in this process. Reported: fire lateness until the alert was
 *     committed fired (the instant this process first saw it fired — the row commits with its
 *     message and the subscriptions it goes to, the outbox its deliveries are written from —
 *     minus fire_at; polled every 10 ms), the lateness until its delivery rows were written too,
 *     the lateness of the claim alone (fired_at − fire_at, fired_at being when a batch claimed
 *     the alert), and the time until every delivery succeeded. Run first, on an empty schedule.
 * (c) The deliveries of (b) per second, first to last received, next to a closed loop of raw
 *     undici POSTs of the same body to the same receiver, with `WEBHOOK_CONCURRENCY` connections,
 *     and this process's CPU per delivery and per raw request. The receiver runs in a child
 *     process, as a real endpoint would be elsewhere: sharing this process, its work per request
 *     fell on both sides alike and pulled the ratio towards 1 (0.46–0.55× against 0.33–0.34×
 *     for the same code). `--receiver-in-process` runs it here, as earlier runs did, to compare
 *     with them. `--profile DIR` writes V8 CPU profiles of both windows.
 * (a) Scheduling. 100,000 suspensions are written to the log by `accord_append` itself (a
 *     `MeasureImplemented` and a `SuspensionScheduled` per measure, ends 400–470 days ahead) and
 *     projected into `alert_schedule` by `AlertScheduleProjection` in pages of 1,000 events, as
 *     the worker's subscription runner does (timed, for information). Then the same pending rows
 *     become BullMQ delayed jobs twice: by a bare `Queue.addBulk` of the jobs built in memory
 *     (same names, data, options and deterministic ids; another queue name under the same prefix,
 *     deleted afterwards), and by `AlertRelay.drain()` (read the rows from PostgreSQL, `addBulk`,
 *     mark them enqueued), both in chunks of `--chunk`. One unreported warm-up of 10,000 jobs each.
 * (d) Recovery. `--due` more suspensions are recorded through the CommandBus, ending together a
 *     few seconds ahead, and the worker's alert side (`AlertsProcessor` + `AlertsScheduler`: relay,
 *     job scheduler, watchdog, BullMQ worker) runs in this process with its defaults. One second
 *     before they are due the Redis database is flushed (`FLUSHDB ASYNC`). Reported: the time
 *     from the flush until every due alert has fired (each records a lapse through the
 *     CommandBus), their fire lateness, and the time until every one of the 500,000 future jobs is
 *     back in Redis.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CommandBus, CqrsModule } from '@nestjs/cqrs';
import {
  ALERT_QUEUE,
  AlertRelay,
  AlertScheduleProjection,
  AlertsModule,
  fireJob,
  type AlertQueue,
  type SchedulableAlert,
} from '@app/alerts';
import { ACCORD_CONFIG, ConfigModule, type AccordConfig } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore } from '@app/event-store';
import { allMigrations } from '@app/migrations';
import { bullOptions } from '@app/queues';
import { testRedisUrl } from '@app/testing';
import { ExecuteMeasureAction, recordMeasureBody, type WriteResult } from '@app/trade';
import { WebhookDeliveryPump, WebhookDispatcher } from '@app/webhooks';
import { Queue } from 'bullmq';
import { Agent, request } from 'undici';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AlertsProcessor } from '../apps/worker/src/alerts/alerts.processor';
import { AlertsScheduler } from '../apps/worker/src/alerts/alerts-scheduler';
import { WebhooksWorkerModule } from '../apps/worker/src/webhooks/webhooks-worker.module';
import { openBenchDatabase, openPool } from './lib/bench-database';
import { CpuMeter } from './lib/cpu';
import { machineBusyMs } from './lib/machine-cpu';
import { now } from './lib/closed-loop';
import { describeRun } from './lib/machine';
import { percentile } from './lib/stats';
import { printTable, rate, ratio } from './lib/table';
import { Teardown } from './lib/teardown';

const SCHEDULE_TARGET = 0.5;
const RECOVERY_TARGET_S = 65;
const LATENESS_TARGET_S = 1;
const DELIVERY_TARGET_S = 60;
const THROUGHPUT_TARGET = 0.5;
const LEAD_TIMES = 'P90D,P30D,P7D,P1D,PT0S';
const STREAMS_PER_STATEMENT = 500;
const WARM_UP = 10_000;
/** How often (b) looks for newly fired alerts: the resolution of its lateness figure. */
const POLL_MS = 10;

const source = { issuer: 'The White House', title: 'Executive Order 14358', official: true };

const imports = [
  ConfigModule,
  DatabaseModule.forRoot({
    migrations: allMigrations,
    migrate: false,
    applicationName: 'bench-alerts',
    poolSize: 12,
  }),
  CqrsModule.forRoot(),
  AlertsModule,
];

@Module({ imports })
class SchedulingModule {}

/** The worker's alert side alone (not the other projections, which would compete for the CPU). */
@Module({ imports, providers: [AlertsProcessor, AlertsScheduler] })
class RecoveryModule {}

/** The alert side and the webhook delivery side of the worker. */
@Module({
  imports: [...imports, WebhooksWorkerModule],
  providers: [AlertsProcessor, AlertsScheduler],
})
class DeliveryModule {}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      suspensions: { type: 'string', default: '100000' },
      due: { type: 'string', default: '1000' },
      chunk: { type: 'string', default: '1000' },
      'redis-db': { type: 'string', default: '9' },
      subscriptions: { type: 'string', default: '50' },
      parts: { type: 'string', default: 'a,b,c,d' },
      // Writes CPU profiles of (c)'s two sides (Accord's delivery window, the raw loop) here.
      profile: { type: 'string' },
      // The receiver in this process, sharing its event loop with the worker's side and the raw
      // loop, as runs before 2026-11-29 10:30 UTC had it (by default it has a process of its own).
      'receiver-in-process': { type: 'boolean', default: false },
    },
  });
  const parts = new Set(values.parts.split(','));
  const suspensions = Number(values.suspensions);
  const due = Number(values.due);
  const chunk = Number(values.chunk);
  const teardown = new Teardown();
  const prefix = `accord-bench-alerts-${randomBytes(4).toString('hex')}`;
  // A logical database of its own, so that (d) can FLUSHDB — a real, atomic flush — without
  // touching the keys of other suites on the same server.
  const redisUrl = new URL(testRedisUrl());
  redisUrl.pathname = `/${values['redis-db']}`;
  const benchRedis = new Redis(redisUrl.toString());
  try {
    if ((await benchRedis.dbsize()) !== 0) {
      throw new Error(
        `Redis database ${values['redis-db']} is not empty: is another run using it?`,
      );
    }
    teardown.add('flush the benchmark Redis database', async () => {
      await benchRedis.flushdb('ASYNC');
      benchRedis.disconnect();
    });
    const db = await openBenchDatabase('bench_alerts');
    teardown.add('drop the benchmark database', () => db.drop());
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl.toString(),
      REDIS_PREFIX: prefix,
      ALERT_LEAD_TIMES: LEAD_TIMES,
    });
    await describeRun(db.pool, [
      'libs/alerts/src/relay/alert-relay.ts',
      'libs/alerts/src/reconcile/alert-reconciler.ts',
      'libs/alerts/src/schedule/alert-schedule.projection.ts',
      'libs/alerts/src/fire/alert-firer.ts',
      'libs/webhooks/src/webhook-dispatcher.ts',
      'libs/webhooks/src/webhook-deliverer.ts',
      'libs/webhooks/src/webhook-delivery-pump.ts',
    ]);
    console.log(
      `database: ${new URL(db.url).pathname.slice(1)}, Redis ${redisUrl.toString()} prefix ${prefix}`,
    );
    console.log(`lead times: ${LEAD_TIMES}; chunks of ${chunk}\n`);

    if (parts.has('b') || parts.has('c')) {
      const delivery = await deliveryRun(
        db.pool,
        db.url,
        due,
        Number(values.subscriptions),
        values.profile,
        !values['receiver-in-process'],
      );
      printDelivery(delivery, due, Number(values.subscriptions));
      await benchRedis.flushdb();
      await db.pool.query(
        'TRUNCATE alert_schedule, webhook_deliveries, webhook_messages, webhook_subscriptions CASCADE',
      );
    }
    if (!parts.has('a') && !parts.has('d')) return;

    const app = await NestFactory.createApplicationContext(SchedulingModule, {
      logger: ['error', 'warn'],
      abortOnError: false,
    });
    teardown.add('close the scheduling app', () => app.close());

    const loadStart = now();
    await load(db.url, suspensions);
    const events = suspensions * 2;
    console.log(
      `loaded:   ${suspensions.toLocaleString('en-US')} suspensions ` +
        `(${events.toLocaleString('en-US')} events) in ${((now() - loadStart) / 1000).toFixed(1)} s, not measured`,
    );
    const projectionMs = await project(app, 1000);
    const { rows } = await db.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM alert_schedule WHERE state = 'pending'`,
    );
    const pending = Number(rows[0].n);
    // Autovacuum analyses a table after a bulk load like this one within a minute or so; without
    // statistics the planner takes the partial indexes for nearly empty and sorts the backlog.
    await db.pool.query('ANALYZE alert_schedule');
    console.log(
      `projected: ${pending.toLocaleString('en-US')} pending alerts from ` +
        `${events.toLocaleString('en-US')} events in ${(projectionMs / 1000).toFixed(1)} s ` +
        `(${rate(events / (projectionMs / 1000))} events/s, ` +
        `${rate(suspensions / (projectionMs / 1000))} suspensions/s)`,
    );

    const schedule = await scheduling(app, db.pool, pending, chunk, redisUrl.toString(), prefix);
    await app.close();

    const recovery = await recoveryAfterFlush(db.pool, due, benchRedis, prefix);

    console.log(
      `\n(a) Scheduling ${pending.toLocaleString('en-US')} alerts of ` +
        `${suspensions.toLocaleString('en-US')} suspensions as BullMQ delayed jobs`,
    );
    printTable(
      [
        'bare addBulk jobs/s',
        'Accord relay jobs/s',
        'Accord / bare',
        'projection (log → rows) events/s',
        `target ≥ ${SCHEDULE_TARGET}×`,
      ],
      [
        [
          rate(schedule.bare),
          rate(schedule.accord),
          ratio(schedule.accord / schedule.bare),
          rate(events / (projectionMs / 1000)),
          schedule.accord / schedule.bare >= SCHEDULE_TARGET ? 'met' : 'MISSED',
        ],
      ],
    );
    console.log(
      `\n(d) Redis flushed 1 s before ${due.toLocaleString('en-US')} alerts were due, ` +
        `${recovery.future.toLocaleString('en-US')} more pending`,
    );
    printTable(
      [
        'flush → all due fired s',
        'fire lateness p50 / p99 / max s',
        'flush → all jobs back s',
        'keys deleted',
        `target ≤ ${RECOVERY_TARGET_S} s`,
      ],
      [
        [
          (recovery.allFiredMs / 1000).toFixed(1),
          `${(recovery.lateness.p50 / 1000).toFixed(2)} / ${(recovery.lateness.p99 / 1000).toFixed(2)} / ${(recovery.lateness.max / 1000).toFixed(2)}`,
          (recovery.allBackMs / 1000).toFixed(1),
          recovery.keysDeleted.toLocaleString('en-US'),
          recovery.allFiredMs / 1000 <= RECOVERY_TARGET_S ? 'met' : 'MISSED',
        ],
      ],
    );
  } finally {
    await teardown.run();
  }
}

/**
 * Writes `count` measures with one suspension each through accord_append, the events built
 * server-side: ends spread over 70 days starting 400 days ahead, so every lead time is pending.
 */
async function load(url: string, count: number): Promise<void> {
  const pool = await openPool(url, 2, 'bench-alerts-load');
  try {
    const chunks: Array<[number, number]> = [];
    for (let first = 1; first <= count; first += STREAMS_PER_STATEMENT) {
      chunks.push([first, Math.min(count, first + STREAMS_PER_STATEMENT - 1)]);
    }
    const definition = {
      kind: 'tariff',
      imposingParty: 'US',
      targetParties: ['CN'],
      rate: { type: 'ad-valorem', percent: 10 },
      timeZone: 'America/New_York',
    };
    const worker = async () => {
      for (let next = chunks.shift(); next; next = chunks.shift()) {
        await pool.query(
          `WITH m AS (
             SELECT gen_random_uuid() AS id, n,
                    to_char((now() + interval '400 days' + n * interval '1 minute') AT TIME ZONE 'UTC',
                            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ends_at
               FROM generate_series($1::int, $2::int) n
           )
           SELECT count(accord_append('measure-' || m.id, 0, NULL, jsonb_build_array(
             jsonb_build_object('eventId', gen_random_uuid(), 'type', 'MeasureImplemented',
               'schemaVersion', 1, 'metadata', '{"actor":"bench"}'::jsonb,
               'payload', jsonb_build_object('measureId', m.id,
                 'measure', $3::jsonb || jsonb_build_object('title', 'Bench tariff ' || m.n),
                 'effectiveAt', '2025-04-09T04:01:00.000Z', 'sources', $4::jsonb)),
             jsonb_build_object('eventId', gen_random_uuid(), 'type', 'SuspensionScheduled',
               'schemaVersion', 1, 'metadata', '{"actor":"bench"}'::jsonb,
               'payload', jsonb_build_object('suspensionId', gen_random_uuid(),
                 'startsAt', '2025-11-10T05:01:00.000Z', 'endsAt', m.ends_at,
                 'reinstatesAutomatically', true,
                 'effectiveAt', '2025-11-10T05:01:00.000Z', 'sources', $4::jsonb)))))
             FROM m`,
          [next[0], next[1], JSON.stringify(definition), JSON.stringify([source])],
        );
      }
    };
    await Promise.all([worker(), worker()]);
  } finally {
    await pool.end();
  }
}

/** Feeds the log to the projection in pages, each in a transaction, as the runner does. */
async function project(app: INestApplicationContext, pageSize: number, from = 0): Promise<number> {
  const store = app.get(EventStore);
  const dataSource = app.get(DataSource);
  const projection = app.get(AlertScheduleProjection);
  const start = now();
  for (let after = from; ;) {
    const page = await store.readAll(after, pageSize);
    if (page.nextAfter === after) break;
    await dataSource.transaction((manager) => projection.handle(page.events, manager));
    after = page.nextAfter;
  }
  return now() - start;
}

async function scheduling(
  app: INestApplicationContext,
  pool: Pool,
  pending: number,
  chunk: number,
  redisUrl: string,
  prefix: string,
): Promise<{ bare: number; accord: number }> {
  const config = { REDIS_URL: redisUrl, REDIS_PREFIX: prefix };
  const { rows } = await pool.query<SchedulableAlert>(
    `SELECT id, end_version, fire_at, lead_time FROM alert_schedule WHERE state = 'pending'
      ORDER BY fire_at, id`,
  );
  const bareQueue = new Queue('accord-alerts-bare', bullOptions(config));
  const relay = app.get(AlertRelay);
  const accordQueue = app.get<AlertQueue>(ALERT_QUEUE);
  try {
    const bareRun = async (list: typeof rows) => {
      const start = now();
      const at = new Date();
      for (let from = 0; from < list.length; from += chunk) {
        await bareQueue.addBulk(list.slice(from, from + chunk).map((row) => fireJob(row, at)));
      }
      return now() - start;
    };
    // Warm-up, not reported: connections, Lua scripts loaded, the JIT.
    await bareRun(rows.slice(0, WARM_UP));
    await bareQueue.obliterate({ force: true });
    await pool.query(
      `UPDATE alert_schedule SET enqueued_at = NULL WHERE id IN (
         SELECT id FROM alert_schedule WHERE state = 'pending' ORDER BY fire_at, id LIMIT $1)`,
      [WARM_UP],
    );
    await relayUntil(relay, chunk, WARM_UP);
    await accordQueue.obliterate({ force: true });
    await pool.query('UPDATE alert_schedule SET enqueued_at = NULL');

    const bareMs = await bareRun(rows);
    const info = new Redis(redisUrl);
    const memory = /used_memory_human:(\S+)/.exec(await info.info('memory'))?.[1];
    info.disconnect();
    console.log(
      `bare addBulk: ${rows.length.toLocaleString('en-US')} jobs in ${(bareMs / 1000).toFixed(1)} s` +
        ` (Redis used_memory ${memory} with them)`,
    );
    await bareQueue.obliterate({ force: true });

    const start = now();
    const relayed = await relay.drain(chunk);
    const accordMs = now() - start;
    if (relayed !== pending) throw new Error(`The relay enqueued ${relayed} of ${pending} alerts`);
    console.log(
      `Accord relay: ${relayed.toLocaleString('en-US')} jobs in ${(accordMs / 1000).toFixed(1)} s`,
    );
    return { bare: rows.length / (bareMs / 1000), accord: relayed / (accordMs / 1000) };
  } finally {
    await bareQueue.close();
  }
}

async function relayUntil(relay: AlertRelay, chunk: number, count: number): Promise<void> {
  for (let done = 0; done < count;) done += (await relay.relayOnce(chunk)).length;
}

async function recoveryAfterFlush(pool: Pool, due: number, redis: Redis, prefix: string) {
  const app = await NestFactory.createApplicationContext(RecoveryModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  try {
    const commandBus = app.get(CommandBus);
    const act = (measure: string | null, action: ExecuteMeasureAction['action']) =>
      commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(measure, action, { actor: 'bench' }),
      );
    // Ends together, far enough ahead for the commands, the projection and the relay.
    const head = await app.get(EventStore).headPosition();
    const endsAt = new Date(Date.now() + 25_000 + due * 10);
    const suspensionIds: string[] = [];
    for (let i = 0; i < due; i += 1) {
      const { id } = await act(null, {
        action: 'record-measure',
        body: recordMeasureBody.parse({
          title: `Bench tariff due ${i}`,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          timeZone: 'America/New_York',
          effectiveAt: '2025-04-09T04:01:00Z',
          sources: [source],
        }),
      });
      const { suspensionId } = await act(id, {
        action: 'schedule-suspension',
        body: { startsAt: '2025-11-10T05:01:00Z', endsAt: endsAt.toISOString(), sources: [source] },
      });
      suspensionIds.push(suspensionId as string);
    }
    // The recovery app runs no subscription runner: project the new events here.
    await project(app, 1000, head);
    const dueRows = async () =>
      (
        await pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM alert_schedule
            WHERE suspension_id = ANY($1) AND lead_time = 'PT0S' AND state = 'pending'`,
          [suspensionIds],
        )
      ).rows[0].n;
    if (Number(await dueRows()) !== due) throw new Error('The due alerts were not scheduled');
    const { rows: futureRows } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM alert_schedule WHERE state = 'pending' AND fire_at > $1`,
      [endsAt],
    );
    const future = Number(futureRows[0].n);

    await until(endsAt.getTime() - 1000);
    const flushStart = Date.now();
    const keysDeleted = await redis.dbsize();
    await redis.flushdb('ASYNC');
    console.log(
      `flush:    FLUSHDB ASYNC of ${keysDeleted.toLocaleString('en-US')} keys in ${Date.now() - flushStart} ms`,
    );

    let allFiredMs = Number.NaN;
    let allBackMs = Number.NaN;
    const delayedKey = `${prefix}:accord-alerts:delayed`;
    for (const deadline = flushStart + 300_000; Date.now() < deadline;) {
      if (Number.isNaN(allFiredMs) && Number(await dueRows()) === 0) {
        allFiredMs = Date.now() - flushStart;
        console.log(
          `due:      all ${due} fired ${(allFiredMs / 1000).toFixed(1)} s after the flush`,
        );
      }
      if (Number.isNaN(allBackMs) && (await redis.zcard(delayedKey)) >= future) {
        allBackMs = Date.now() - flushStart;
        console.log(
          `future:   all ${future.toLocaleString('en-US')} jobs back ${(allBackMs / 1000).toFixed(1)} s after the flush`,
        );
      }
      if (!Number.isNaN(allFiredMs) && !Number.isNaN(allBackMs)) break;
      await until(Date.now() + 100);
    }
    const { rows: fired } = await pool.query<{ lateness_ms: number }>(
      `SELECT extract(epoch FROM fired_at - fire_at) * 1000 AS lateness_ms FROM alert_schedule
        WHERE suspension_id = ANY($1) AND lead_time = 'PT0S' AND state = 'fired'
        ORDER BY 1`,
      [suspensionIds],
    );
    const lateness = fired.map((row) => Number(row.lateness_ms));
    return {
      future,
      keysDeleted,
      allFiredMs,
      allBackMs,
      lateness: {
        p50: percentile(lateness, 50),
        p99: percentile(lateness, 99),
        max: lateness[lateness.length - 1] ?? Number.NaN,
      },
    };
  } finally {
    await app.close();
  }
}

/**
 * A receiver on loopback that answers 204 and keeps only counts and arrival times: the test
 * suites' `WebhookReceiver` keeps every request and scans them on each one, which at 50,000
 * requests would measure itself.
 */
async function startCountingReceiver() {
  const arrivals: number[] = [];
  let sample = '';
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      arrivals.push(Date.now());
      if (!sample) sample = Buffer.concat(chunks).toString('utf8');
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    /** The process that receives: this one, whose CPU the benchmark counts as its own. */
    pid: undefined as number | undefined,
    arrivals,
    count: () => Promise.resolve(arrivals.length),
    sample: () => Promise.resolve(sample),
    reset: () => Promise.resolve(arrivals.splice(0)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The same counting receiver, in a child process; arrival times come back over IPC. */
async function startReceiverProcess(): Promise<Awaited<ReturnType<typeof startCountingReceiver>>> {
  const source = `
    const { createServer } = require('node:http');
    let arrivals = [];
    let sample = '';
    const server = createServer((request, response) => {
      const chunks = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        arrivals.push(Date.now());
        if (!sample) sample = Buffer.concat(chunks).toString('utf8');
        response.writeHead(204).end();
      });
    });
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    process.on('message', (message) => {
      if (message === 'reset') { process.send({ arrivals }); arrivals = []; }
      else if (message === 'sample') process.send({ sample });
      else if (message === 'count') process.send({ count: arrivals.length });
      else if (message === 'close') { server.closeAllConnections(); server.close(() => process.exit(0)); }
    });
  `;
  const child = spawn(process.execPath, ['-e', source], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T>(message: string, key: string) =>
    new Promise<T>((resolve) => {
      const listener = (answer: Record<string, T>) => {
        if (!(key in answer)) return;
        child.off('message', listener);
        resolve(answer[key]);
      };
      child.on('message', listener);
      if (message) child.send(message);
    });
  const port = await ask<number>('', 'port');
  return {
    url: (path: string) => `http://127.0.0.1:${port}${path}`,
    pid: child.pid,
    arrivals: [],
    count: () => ask<number>('count', 'count'),
    sample: () => ask<string>('sample', 'sample'),
    reset: () => ask<number[]>('reset', 'arrivals'),
    close: async () => {
      const exited = once(child, 'exit');
      child.send('close');
      await exited;
    },
  };
}

interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

interface DeliveryRun {
  /**
   * Until the alert was committed fired, with its message and recipients (seen by this
   * process): the target's figure.
   */
  lateness: Percentiles;
  /** Until its delivery rows were written as well (seen by this process). */
  writtenLateness: Percentiles;
  /** Until a batch claimed the alert (`fired_at`), its deliveries not yet committed. */
  claimLateness: Percentiles;
  /** From the instant the alerts were due until every delivery had succeeded. */
  allDeliveredMs: number;
  /** Deliveries per second, first to last request received. */
  accordPerSecond: number;
  rawPerSecond: number;
  received: number;
}

/**
 * (b) `due` alerts due at the same instant, `subscriptionCount` subscriptions each (lead time
 * `PT1H`, their own), delivered to a receiver on loopback by the worker's delivery side; (c)
 * the deliveries' rate next to a raw undici POST loop to the same receiver.
 */
async function deliveryRun(
  pool: Pool,
  url: string,
  due: number,
  subscriptionCount: number,
  profileDir?: string,
  receiverProcess = false,
): Promise<DeliveryRun> {
  const receiver = receiverProcess ? await startReceiverProcess() : await startCountingReceiver();
  process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS = 'true';
  const app = await NestFactory.createApplicationContext(DeliveryModule, {
    logger: ['error', 'warn'],
    abortOnError: false,
  });
  try {
    for (let i = 0; i < subscriptionCount; i += 1) {
      await pool.query(
        `INSERT INTO webhook_subscriptions (id, url, event_types, lead_times, secret, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, '{suspension.expiring}', '{PT1H}', $2, now(), now())`,
        [receiver.url(`/s${i}`), `whsec_${randomBytes(24).toString('base64')}`],
      );
    }
    const commandBus = app.get(CommandBus);
    const head = await app.get(EventStore).headPosition();
    // Due together, an hour before their ends, far enough ahead for the commands and the relay.
    const dueAt = Date.now() + 20_000 + due * 15;
    const endsAt = new Date(dueAt + 3_600_000).toISOString();
    for (let i = 0; i < due; i += 1) {
      const { id } = await commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          null,
          {
            action: 'record-measure',
            body: recordMeasureBody.parse({
              title: `Bench tariff ${i}`,
              kind: 'tariff',
              imposingParty: 'US',
              targetParties: ['CN'],
              rate: { type: 'ad-valorem', percent: 10 },
              timeZone: 'America/New_York',
              effectiveAt: '2025-04-09T04:01:00Z',
              sources: [source],
            }),
          },
          { actor: 'bench' },
        ),
      );
      await commandBus.execute<ExecuteMeasureAction, WriteResult>(
        new ExecuteMeasureAction(
          id,
          {
            action: 'schedule-suspension',
            body: { startsAt: '2025-11-10T05:01:00Z', endsAt, sources: [source] },
          },
          { actor: 'bench' },
        ),
      );
    }
    await project(app, 1000, head);
    const { rows: scheduled } = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM alert_schedule WHERE lead_time = 'PT1H' AND state = 'pending'`,
    );
    if (Number(scheduled[0].n) !== due) throw new Error('The alerts were not scheduled');
    if (Date.now() > dueAt - 2000) throw new Error('Setting up took too long; lower --due');
    console.log(
      `(b): ${due} alerts due at ${new Date(dueAt).toISOString()}, ${subscriptionCount} subscriptions each`,
    );

    const expected = due * subscriptionCount;
    // An alert is marked fired in the transaction that commits its message and recipients:
    // the first time it is seen fired, nothing can lose its deliveries (they are written from
    // that outbox). When they were written is watched too. From a thread of its own, so that
    // this process's busy event loop (firing, delivering) does not delay the look.
    const committed = watchFired(url, due, dueAt + 120_000);
    await until(dueAt - 200);
    const accordProfile = profileDir ? await startProfile() : undefined;
    const accordCpu = process.cpuUsage();
    const cpuMeter = CpuMeter.on(pool, receiver.pid);
    const accordOthers = await cpuMeter.start();
    const accordMachine = machineBusyMs();
    let allDeliveredMs = Number.NaN;
    const deadline = dueAt + 300_000;
    // The receiver's count first (no load on the database while Accord works), then the rows,
    // which follow the last requests within a flush or two.
    while (Date.now() < deadline && (await receiver.count()) < expected) {
      await until(Date.now() + 100);
    }
    while (Date.now() < deadline) {
      const { rows } = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'succeeded'`,
      );
      if (Number(rows[0].n) >= expected) {
        allDeliveredMs = Date.now() - dueAt;
        break;
      }
      await until(Date.now() + 20);
    }
    const accordCpuMs = cpuMs(process.cpuUsage(accordCpu));
    const accordMachineMs = machineBusyMs() - accordMachine;
    const accordSide = await accordOthers();
    await accordProfile?.(`${profileDir}/accord.cpuprofile`);
    const seen = await committed;
    const allCommittedMs = Math.max(...seen.map((alert) => alert.seenAt)) - dueAt;
    const lateness = seen.map((alert) => alert.seenAt - alert.fireAt).sort((a, b) => a - b);
    const writtenLateness = seen
      .map((alert) => alert.writtenAt - alert.fireAt)
      .sort((a, b) => a - b);
    const allWrittenMs = Math.max(...seen.map((alert) => alert.writtenAt)) - dueAt;
    const { rows: fired } = await pool.query<{ lateness_ms: number }>(
      `SELECT extract(epoch FROM fired_at - fire_at) * 1000 AS lateness_ms FROM alert_schedule
        WHERE lead_time = 'PT1H' AND state = 'fired' ORDER BY 1`,
    );
    const claimLateness = fired.map((row) => Number(row.lateness_ms));
    const times = await receiver.reset();
    const sortedTimes = [...times].sort((a, b) => a - b);
    const accordPerSecond =
      times.length / Math.max(0.001, (Math.max(...times) - Math.min(...times)) / 1000);
    console.log(
      `(b): ${fired.length} fired (all committed ${(allCommittedMs / 1000).toFixed(2)} s after ` +
        `they were due, their deliveries all written ${(allWrittenMs / 1000).toFixed(2)} s, first request ${((Math.min(...times) - dueAt) / 1000).toFixed(2)} s), ` +
        `${times.length.toLocaleString('en-US')} requests received (half by ` +
        `${((percentile(sortedTimes, 50) - dueAt) / 1000).toFixed(2)} s, 99 % by ` +
        `${((percentile(sortedTimes, 99) - dueAt) / 1000).toFixed(2)} s, the last at ` +
        `${((sortedTimes[sortedTimes.length - 1] - dueAt) / 1000).toFixed(2)} s), all deliveries succeeded ` +
        `${(allDeliveredMs / 1000).toFixed(1)} s after the alerts were due`,
    );

    // (c) The same receiver, the same body, as many connections as the deliverer may use.
    const body = (await receiver.sample()) || '{}';
    const concurrency = app.get<AccordConfig>(ACCORD_CONFIG).WEBHOOK_CONCURRENCY;
    const agent = new Agent({ connections: concurrency });
    const rawTotal = times.length || expected;
    let sent = 0;
    const rawProfile = profileDir ? await startProfile() : undefined;
    const rawCpu = process.cpuUsage();
    const rawOthers = await cpuMeter.start();
    const rawMachine = machineBusyMs();
    const rawStart = now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < rawTotal) {
          sent += 1;
          const response = await request(receiver.url('/raw'), {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json' },
            body,
          });
          await response.body.dump();
        }
      }),
    );
    const rawPerSecond = rawTotal / ((now() - rawStart) / 1000);
    const rawCpuMs = cpuMs(process.cpuUsage(rawCpu));
    const rawMachineMs = machineBusyMs() - rawMachine;
    const rawSide = await rawOthers();
    await rawProfile?.(`${profileDir}/raw.cpuprofile`);
    const receiving = receiverProcess ? '' : ', receiving';
    console.log(
      `(c): this process's CPU: ${((accordCpuMs * 1000) / Math.max(1, times.length)).toFixed(0)} µs ` +
        `per delivery (due → all delivered: firing, delivering${receiving}), ` +
        `${((rawCpuMs * 1000) / rawTotal).toFixed(0)} µs per raw request (sending${receiving}); ` +
        `receiver ${receiverProcess ? 'in a process of its own' : 'in this process'}`,
    );
    const perRequest = (ms: number, count: number) => `${((ms * 1000) / count).toFixed(0)} µs`;
    console.log(
      `(c): µs per request, Accord / raw: PostgreSQL ${perRequest(accordSide.postgresMs, times.length)} / ` +
        `${perRequest(rawSide.postgresMs, rawTotal)}; receiver ${perRequest(accordSide.clientMs, times.length)} / ` +
        `${perRequest(rawSide.clientMs, rawTotal)}; whole machine ${perRequest(accordMachineMs, times.length)} / ` +
        `${perRequest(rawMachineMs, rawTotal)}`,
    );
    await agent.close();
    const drained = await drainCommitted(app, pool, receiver, due, body, cpuMeter);
    console.log(
      `(c): for information, the pump alone (no firing in the window): ` +
        `${drained.count.toLocaleString('en-US')} deliveries already committed drained at ` +
        `${Math.round(drained.perSecond).toLocaleString('en-US')}/s, ` +
        `${(drained.perSecond / rawPerSecond).toFixed(2)}× the raw loop; whole machine ` +
        `${perRequest(drained.machineMs, drained.count)}, PostgreSQL ` +
        `${perRequest(drained.postgresMs, drained.count)}, receiver ` +
        `${perRequest(drained.receiverMs, drained.count)} per delivery`,
    );
    return {
      lateness: percentiles(lateness),
      writtenLateness: percentiles(writtenLateness),
      claimLateness: percentiles(claimLateness),
      allDeliveredMs,
      accordPerSecond,
      rawPerSecond,
      received: times.length,
    };
  } finally {
    await app.close();
    await receiver.close();
  }
}

/**
 * The delivery side alone: with the pump stopped, `due` messages of the same body are written
 * with their deliveries to every subscription (as a dispatch commits them), then the pump is
 * started and timed from the first request received to the last. Not the figure (its
 * deliveries are the burst's, written while they are sent): it tells what the firing costs (c).
 */
async function drainCommitted(
  app: INestApplicationContext,
  pool: Pool,
  receiver: Awaited<ReturnType<typeof startCountingReceiver>>,
  due: number,
  body: string,
  cpuMeter: CpuMeter,
): Promise<{
  count: number;
  perSecond: number;
  machineMs: number;
  postgresMs: number;
  receiverMs: number;
}> {
  const pump = app.get(WebhookDeliveryPump);
  await pump.stop();
  await receiver.reset();
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM webhook_subscriptions');
  const subscriptionIds = rows.map((row) => row.id);
  const { data } = JSON.parse(body) as { data: object };
  const dispatcher = app.get(WebhookDispatcher);
  for (let start = 0; start < due; start += 50) {
    const messages = Array.from({ length: Math.min(50, due - start) }, (_, i) => ({
      type: 'suspension.expiring' as const,
      messageKey: `drain:${start + i}`,
      data,
      match: { parties: [] },
      subscriptionIds,
    }));
    await dispatcher.dispatchMany(pool, messages);
  }
  const expected = due * subscriptionIds.length;
  const others = await cpuMeter.start();
  const machine = machineBusyMs();
  pump.start();
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && (await receiver.count()) < expected) {
    await until(Date.now() + 100);
  }
  const machineMs = machineBusyMs() - machine;
  const side = await others();
  const times = await receiver.reset();
  const seconds = Math.max(0.001, (Math.max(...times) - Math.min(...times)) / 1000);
  return {
    count: times.length,
    perSecond: times.length / seconds,
    machineMs,
    postgresMs: side.postgresMs,
    receiverMs: side.clientMs,
  };
}

/**
 * Polls, from a worker thread, for the `PT1H` alerts that are fired, and answers when each was
 * first seen so, and first seen with its delivery rows written (its message no longer staged):
 * each commit came after the previous look began and before this one did, so the instant this
 * look began is an upper bound (within `POLL_MS` plus a query).
 */
async function watchFired(
  url: string,
  due: number,
  until: number,
): Promise<Array<{ fireAt: number; seenAt: number; writtenAt: number }>> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { Client } = require('pg');
    (async () => {
      const client = new Client({ connectionString: workerData.url, application_name: 'bench-watch' });
      await client.connect();
      const seen = new Map();
      let written = 0;
      while (written < workerData.due && Date.now() < workerData.until) {
        const at = Date.now();
        const { rows } = await client.query(
          "SELECT a.id, a.fire_at, m.recipients IS NULL AS written FROM alert_schedule a" +
            " LEFT JOIN webhook_messages m ON m.message_key = 'alert:' || a.id" +
            " WHERE a.lead_time = 'PT1H' AND a.state = 'fired' AND a.id <> ALL($1::uuid[])",
          [[...seen.entries()].filter(([, alert]) => alert.writtenAt).map(([id]) => id)],
        );
        for (const row of rows) {
          const alert = seen.get(row.id) ?? { fireAt: row.fire_at.getTime(), seenAt: at };
          if (row.written && !alert.writtenAt) {
            alert.writtenAt = at;
            written += 1;
          }
          seen.set(row.id, alert);
        }
        await new Promise((resolve) => setTimeout(resolve, workerData.pollMs));
      }
      await client.end();
      parentPort.postMessage([...seen.values()]);
    })().catch((error) => parentPort.postMessage({ error: String(error) }));
  `;
  const worker = new Worker(source, {
    eval: true,
    workerData: { url, due, until, pollMs: POLL_MS },
  });
  try {
    const [answer] = (await once(worker, 'message')) as [
      Array<{ fireAt: number; seenAt: number; writtenAt: number }> | { error: string },
    ];
    if (!Array.isArray(answer)) throw new Error(`Watching fired alerts failed: ${answer.error}`);
    return answer;
  } finally {
    await worker.terminate();
  }
}

function percentiles(sorted: number[]): Percentiles {
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

function printDelivery(run: DeliveryRun, due: number, subscriptions: number): void {
  const seconds = (value: number) => (value / 1000).toFixed(2);
  const triple = (value: Percentiles) =>
    `${seconds(value.p50)} / ${seconds(value.p99)} / ${seconds(value.max)}`;
  console.log(
    `\n(b) ${due.toLocaleString('en-US')} alerts due at the same instant, ` +
      `${subscriptions} subscriptions each, delivered to a receiver on loopback`,
  );
  printTable(
    [
      'fire lateness (committed fired) p50 / p99 / max s',
      'deliveries written p50 / p99 / max s',
      'claim lateness p50 / p99 / max s',
      `due → all ${(due * subscriptions).toLocaleString('en-US')} delivered s`,
      `target p99 ≤ ${LATENESS_TARGET_S} s, all ≤ ${DELIVERY_TARGET_S} s`,
    ],
    [
      [
        triple(run.lateness),
        triple(run.writtenLateness),
        triple(run.claimLateness),
        (run.allDeliveredMs / 1000).toFixed(1),
        `${run.lateness.p99 / 1000 <= LATENESS_TARGET_S ? 'met' : 'MISSED'}, ` +
          `${run.allDeliveredMs / 1000 <= DELIVERY_TARGET_S ? 'met' : 'MISSED'}`,
      ],
    ],
  );
  console.log('\n(c) Delivery throughput, same receiver');
  printTable(
    [
      'raw undici POST loop req/s',
      'Accord deliveries/s',
      'Accord / raw',
      `target ≥ ${THROUGHPUT_TARGET}×`,
    ],
    [
      [
        rate(run.rawPerSecond),
        rate(run.accordPerSecond),
        ratio(run.accordPerSecond / run.rawPerSecond),
        run.accordPerSecond / run.rawPerSecond >= THROUGHPUT_TARGET ? 'met' : 'MISSED',
      ],
    ],
  );
}

function cpuMs(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1000;
}

/** Starts V8's sampling profiler; the answer stops it and writes the profile. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
  };
}

function until(instant: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, instant - Date.now())));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
