import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { AlertFirer, ALERT_QUEUE, fireJob, type AlertQueue } from '@app/alerts';
import { liveEvents, type MeasureEvent } from '@app/domain';
import { EventStore } from '@app/event-store';
import {
  createTestDatabase,
  deleteRedisPrefix,
  eventually,
  testRedisPrefix,
  type TestDatabase,
} from '@app/testing';
import {
  ExecuteMeasureAction,
  measureStreamId,
  recordMeasureBody,
  toDomainEvent,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { WebhookSubscriptionsService } from '@app/webhooks';
import { DataSource } from 'typeorm';
import { WorkerModule } from '../worker.module';

const source = { issuer: 'MOFCOM', title: 'Announcement No. 70', official: true };

interface AlertRow {
  id: string;
  lead_time: string;
  fire_at: Date;
  fired_at: Date | null;
  enqueued_at: Date | null;
  end_version: string;
  state: string;
  outcome: string | null;
}

/**
 * The worker's alert machinery end to end, in one process: projection → relay → BullMQ delayed
 * job → fenced processor → lapse command and webhook deliveries, on the machine's PostgreSQL and
 * Redis (a key prefix of its own). Lead times are seconds, so nothing waits for a year.
 */
describe('Expiry alerts in the worker', () => {
  const prefix = testRedisPrefix('alerts-worker');
  let db: TestDatabase;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let commandBus: CommandBus;
  let subscriptionId: string;

  beforeAll(async () => {
    db = await createTestDatabase('alerts_worker');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      ALERT_LEAD_TIMES: 'PT4S,PT2S,PT0S',
      SUBSCRIPTION_POLL_MS: '100',
      ALERT_RELAY_POLL_MS: '100',
      ALERT_WATCHDOG_MS: '300',
      ALERT_JOB_LOCK_MS: '5000',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    const moduleRef = await Test.createTestingModule({ imports: [WorkerModule] }).compile();
    moduleRef.useLogger(['error']);
    app = await moduleRef.init();
    dataSource = app.get(DataSource);
    commandBus = app.get(CommandBus);
    subscriptionId = randomUUID();
    // A subscriber to every suspension event, on the default lead times (ALERT_LEAD_TIMES).
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
       VALUES ($1, 'https://receiver.example/hooks', '{suspension.*}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
  });
  afterAll(async () => {
    await app?.close();
    await deleteRedisPrefix(prefix);
    await db?.drop();
  });

  const act = (measure: string | null, action: MeasureAction) =>
    commandBus.execute<ExecuteMeasureAction, WriteResult>(
      new ExecuteMeasureAction(measure, action, { actor: 'editor' }),
    );

  const suspensionEndingIn = (ms: number) => suspensionEndingAt(Date.now() + ms);

  async function suspensionEndingAt(end: number) {
    const { id: measureId } = await act(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        title: `Port fees on US-linked vessels ${randomUUID()}`,
        kind: 'port-fee',
        imposingParty: 'CN',
        targetParties: ['US'],
        timeZone: 'Asia/Shanghai',
        effectiveAt: '2025-10-14T00:00:00+08:00',
        sources: [source],
      }),
    });
    const { suspensionId } = await act(measureId, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-11-10T13:01:00+08:00',
        endsAt: new Date(end).toISOString(),
        sources: [source],
      },
    });
    return { measureId, suspensionId: suspensionId as string };
  }

  const alerts = (suspensionId: string): Promise<AlertRow[]> =>
    dataSource.query(
      `SELECT id, lead_time, fire_at, fired_at, enqueued_at, end_version, state, outcome
         FROM alert_schedule WHERE suspension_id = $1 ORDER BY end_version, fire_at`,
      [suspensionId],
    );

  const deliveries = (
    keys: string[],
  ): Promise<{ message_key: string; webhook_id: string; event_type: string }[]> =>
    dataSource.query(
      `SELECT message_key, webhook_id, event_type FROM webhook_deliveries
        WHERE message_key = ANY($1) ORDER BY created_at, message_key`,
      [keys],
    );

  const keysOf = (rows: AlertRow[]) =>
    rows.flatMap((row) => [`alert:${row.id}`, `alert:${row.id}:lapsed`]);

  async function lapses(measureId: string) {
    const events = await app.get(EventStore).readStream(measureStreamId(measureId));
    return events.filter((event) => event.type === 'SuspensionLapsed');
  }

  /** When each lapse that stands (not retracted) took effect. */
  async function liveLapses(measureId: string): Promise<string[]> {
    const events = await app.get(EventStore).readStream(measureStreamId(measureId));
    return liveEvents(events.map((event) => toDomainEvent<MeasureEvent>(event)))
      .filter((event) => event.type === 'SuspensionLapsed')
      .map((event) => event.data.effectiveAt);
  }

  it('fires each alert at its time, records the lapse as the system and dispatches once per subscription', async () => {
    const { measureId, suspensionId } = await suspensionEndingIn(6000);

    const fired = await eventually(
      async () => {
        const rows = await alerts(suspensionId);
        expect(rows.map((row) => [row.lead_time, row.state])).toEqual([
          ['PT4S', 'fired'],
          ['PT2S', 'fired'],
          ['PT0S', 'fired'],
        ]);
        return rows;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    for (const row of fired) {
      // Not before its time, and not much after it.
      expect(row.fired_at!.getTime()).toBeGreaterThanOrEqual(row.fire_at.getTime() - 1000);
      expect(row.fired_at!.getTime() - row.fire_at.getTime()).toBeLessThan(5000);
    }
    expect(fired[2].outcome).toBe('lapse recorded');

    const lapsed = await lapses(measureId);
    expect(lapsed).toHaveLength(1);
    expect(lapsed[0].metadata.actor).toBe('system');
    expect(lapsed[0].payload).toMatchObject({ suspensionId });

    // Written just after the firing commits (the messages are staged with it).
    const sent = await eventually(async () => {
      const written = await deliveries(keysOf(fired));
      expect(written).toHaveLength(4);
      return written;
    });
    expect(sent.map((d) => [d.message_key, d.event_type])).toEqual(
      expect.arrayContaining([
        [`alert:${fired[0].id}`, 'suspension.expiring'],
        [`alert:${fired[1].id}`, 'suspension.expiring'],
        [`alert:${fired[2].id}`, 'suspension.expiring'],
        [`alert:${fired[2].id}:lapsed`, 'suspension.lapsed'],
      ]),
    );
    expect(new Set(sent.map((d) => d.webhook_id)).size).toBe(4);
  });

  it('cancels the alerts of an end that an extension moved, and fences their old jobs', async () => {
    const { measureId, suspensionId } = await suspensionEndingIn(7000);
    // The old alerts are in Redis as delayed jobs before the extension arrives.
    await eventually(
      async () => expect((await alerts(suspensionId)).every((row) => row.enqueued_at)).toBe(true),
      { timeoutMs: 5000 },
    );
    const newEnd = new Date(Date.now() + 3_600_000).toISOString();
    await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: newEnd, sources: [source] },
    });
    const cancelled = await eventually(async () => {
      const rows = await alerts(suspensionId);
      const old = rows.filter((row) => row.state === 'cancelled');
      expect(old.map((row) => row.lead_time)).toEqual(['PT4S', 'PT2S', 'PT0S']);
      expect(rows.filter((row) => row.state === 'pending')).toHaveLength(3);
      return old;
    });

    // A stale job fires on the old schedule: it finds its version superseded and does nothing.
    const queue = app.get<AlertQueue>(ALERT_QUEUE);
    await queue.remove(`alert-${cancelled[0].id}-${cancelled[0].end_version}`);
    await queue.add(...spread(fireJob({ ...cancelled[0], fire_at: new Date(0) }, new Date())));
    await expect(
      app.get(AlertFirer).fire(cancelled[1].id, Number(cancelled[1].end_version)),
    ).resolves.toEqual({ outcome: 'fenced', state: 'cancelled' });

    // Past the old end: nothing of the old schedule fired, no lapse, nothing dispatched.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const after = await alerts(suspensionId);
    expect(after.filter((row) => row.state === 'fired')).toEqual([]);
    expect(after.every((row) => row.fired_at === null)).toBe(true);
    expect(await lapses(measureId)).toEqual([]);
    expect(await deliveries(keysOf(cancelled))).toEqual([]);
    const extended: { n: number }[] = await dataSource.query(
      `SELECT count(*)::int AS n
         FROM webhook_deliveries d JOIN webhook_messages m USING (message_key)
        WHERE d.event_type = 'suspension.extended'
          AND m.payload->'data'->'suspension'->>'id' = $1`,
      [suspensionId],
    );
    expect(extended).toEqual([{ n: 1 }]);
  }, 30_000);

  it('fires at once the end of a suspension recorded after it ended, and records the lapse', async () => {
    const { measureId, suspensionId } = await suspensionEndingIn(-60_000);

    await eventually(
      async () =>
        expect((await alerts(suspensionId)).map((row) => [row.lead_time, row.state])).toEqual([
          ['PT4S', 'skipped'],
          ['PT2S', 'skipped'],
          ['PT0S', 'fired'],
        ]),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    expect(await lapses(measureId)).toHaveLength(1);
    // Its lapse is the news: no warning that it is "expiring", an hour or a minute late.
    const fired = await alerts(suspensionId);
    const sent = await eventually(async () => {
      const written = await deliveries(keysOf(fired));
      expect(written).toHaveLength(1);
      return written;
    });
    expect(sent.map((d) => d.event_type)).toEqual(['suspension.lapsed']);
  });

  it('gives an end extended after its lapse its alerts on the queue and a lapse of its own', async () => {
    // Both ended a minute ago and lapse at once. One is extended by an agreement in force by
    // the end, recorded late (its lapse is retracted with it); the other is continued from now.
    const late = await suspensionEndingIn(-60_000);
    const continued = await suspensionEndingIn(-60_000);
    for (const { measureId, suspensionId } of [late, continued]) {
      await eventually(
        async () => {
          const ends = (await alerts(suspensionId)).filter((row) => row.lead_time === 'PT0S');
          expect(ends.map((row) => row.state)).toEqual(['fired']);
          expect(await liveLapses(measureId)).toHaveLength(1);
        },
        { timeoutMs: 10_000, intervalMs: 100 },
      );
    }
    // Far enough ahead that its first lead time (PT4S) is still ahead once the extension is in.
    const newEnd = new Date(Date.now() + 8000).toISOString();
    const extensions = await Promise.all([
      act(late.measureId, {
        action: 'extend-suspension',
        suspensionId: late.suspensionId,
        body: {
          endsAt: newEnd,
          effectiveAt: new Date(Date.now() - 3_600_000).toISOString(),
          sources: [source],
        },
      }),
      act(continued.measureId, {
        action: 'extend-suspension',
        suspensionId: continued.suspensionId,
        body: { endsAt: newEnd, sources: [source] },
      }),
    ]);
    expect(await liveLapses(late.measureId)).toEqual([]);

    for (const [index, { measureId, suspensionId }] of [late, continued].entries()) {
      const fired = await eventually(
        async () => {
          const rows = await alerts(suspensionId);
          const renewed = rows.filter(
            (row) => Number(row.end_version) === extensions[index].version,
          );
          expect(renewed.map((row) => [row.lead_time, row.state])).toEqual([
            ['PT4S', 'fired'],
            ['PT2S', 'fired'],
            ['PT0S', 'fired'],
          ]);
          return rows;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      // The old end fired once, before the extension; the new one records its own lapse.
      expect(fired.filter((row) => row.lead_time === 'PT0S').map((row) => row.outcome)).toEqual([
        'lapse recorded',
        'lapse recorded',
      ]);
      const lapsed = await liveLapses(measureId);
      expect(lapsed.at(-1)).toEqual(newEnd);
      expect(lapsed).toHaveLength(index === 0 ? 1 : 2);
      // Written just after the firing commits: the old end, past when it was recorded, sends
      // its lapse alone; the new one warns at each lead time and then lapses.
      const sent = await eventually(async () => {
        const written = await deliveries(keysOf(fired));
        expect(written).toHaveLength(5);
        return written;
      });
      expect(sent.filter((d) => d.event_type === 'suspension.lapsed')).toHaveLength(2);
      expect(new Set(sent.map((d) => d.webhook_id)).size).toBe(5);
    }
  }, 30_000);

  it('loses nothing when the Redis keys are flushed: the watchdog reconciles at once', async () => {
    const { measureId, suspensionId } = await suspensionEndingIn(6000);
    await eventually(
      async () => expect((await alerts(suspensionId)).every((row) => row.enqueued_at)).toBe(true),
      { timeoutMs: 5000 },
    );
    expect(await deleteRedisPrefix(prefix)).toBeGreaterThan(0);

    const fired = await eventually(
      async () => {
        const rows = await alerts(suspensionId);
        expect(rows.map((row) => row.state)).toEqual(['fired', 'fired', 'fired']);
        return rows;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    expect(await lapses(measureId)).toHaveLength(1);
    // Written just after the firing commits (the messages are staged with it).
    const sent = await eventually(async () => {
      const written = await deliveries(keysOf(fired));
      expect(written).toHaveLength(4);
      return written;
    });
    expect(new Set(sent.map((d) => d.webhook_id)).size).toBe(4);
  });

  it('fires alerts due together in batches, each once, with one delivery per alert', async () => {
    const end = Date.now() + 9000;
    const due: { measureId: string; suspensionId: string }[] = [];
    for (let i = 0; i < 30; i += 1) due.push(await suspensionEndingAt(end));
    const ids = due.map((s) => s.suspensionId);
    const fired = await eventually(
      async () => {
        const rows: AlertRow[] = await dataSource.query(
          `SELECT id, lead_time, fire_at, fired_at, enqueued_at, end_version, state, outcome
             FROM alert_schedule WHERE suspension_id = ANY($1) AND lead_time = 'PT4S'`,
          [ids],
        );
        expect(rows.filter((row) => row.state === 'fired')).toHaveLength(30);
        return rows;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    for (const row of fired) {
      expect(row.fired_at!.getTime()).toBeGreaterThanOrEqual(row.fire_at.getTime() - 1000);
      expect(row.fired_at!.getTime() - row.fire_at.getTime()).toBeLessThan(5000);
    }
    const sent = await eventually(async () => {
      const written = await deliveries(fired.map((row) => `alert:${row.id}`));
      expect(written).toHaveLength(30);
      return written;
    });
    expect(new Set(sent.map((d) => d.webhook_id)).size).toBe(30);
    // Their jobs ran and found them fired: nothing left to fire them again.
    const queue = app.get<AlertQueue>(ALERT_QUEUE);
    await eventually(async () => {
      for (const row of fired)
        expect(await queue.getJob(`alert-${row.id}-${row.end_version}`)).toBeUndefined();
    });
  }, 40_000);

  it('removes the delayed jobs of alerts an extension cancelled', async () => {
    const { measureId, suspensionId } = await suspensionEndingIn(120_000);
    const before = await eventually(
      async () => {
        const rows = await alerts(suspensionId);
        expect(rows.filter((row) => row.enqueued_at)).toHaveLength(3);
        return rows;
      },
      { timeoutMs: 5000 },
    );
    const queue = app.get<AlertQueue>(ALERT_QUEUE);
    const jobId = (row: AlertRow) => `alert-${row.id}-${row.end_version}`;
    for (const row of before) expect(await queue.getJobState(jobId(row))).toBe('delayed');

    await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: new Date(Date.now() + 7_200_000).toISOString(), sources: [source] },
    });
    const after = await eventually(
      async () => {
        const rows: (AlertRow & { job_removed_at: Date | null })[] = await dataSource.query(
          `SELECT id, lead_time, end_version, state, enqueued_at, job_removed_at
             FROM alert_schedule WHERE suspension_id = $1 ORDER BY end_version, fire_at`,
          [suspensionId],
        );
        const cancelled = rows.filter((row) => row.state === 'cancelled');
        expect(cancelled).toHaveLength(3);
        expect(cancelled.every((row) => row.job_removed_at)).toBe(true);
        const pending = rows.filter((row) => row.state === 'pending');
        expect(pending).toHaveLength(3);
        expect(pending.every((row) => row.enqueued_at)).toBe(true);
        return { cancelled, pending };
      },
      { timeoutMs: 10_000 },
    );
    for (const row of after.cancelled) expect(await queue.getJob(jobId(row))).toBeUndefined();
    for (const row of after.pending) expect(await queue.getJobState(jobId(row))).toBe('delayed');
  }, 30_000);

  it('tops up the schedule of existing suspensions when a subscription asks for a new lead time', async () => {
    const { suspensionId } = await suspensionEndingIn(3_600_000);
    const leadTimesOf = async () =>
      (await alerts(suspensionId)).map((row) => [row.lead_time, row.state]);
    await eventually(async () =>
      expect(await leadTimesOf()).toEqual([
        ['PT4S', 'pending'],
        ['PT2S', 'pending'],
        ['PT0S', 'pending'],
      ]),
    );

    // Created with a lead time still ahead (30 min) and one already past (2 h before an end 1 h away).
    const subscriptions = app.get(WebhookSubscriptionsService);
    const created = await subscriptions.create({
      url: 'http://127.0.0.1:9/lead-times',
      description: 'lead times',
      eventTypes: ['suspension.expiring'],
      filters: {},
      leadTimes: ['PT30M', 'PT2H'],
      format: 'standard',
      enabled: true,
    });
    const topped = await eventually(async () => {
      const rows = await alerts(suspensionId);
      expect(rows.map((row) => [row.lead_time, row.state])).toEqual([
        ['PT2H', 'skipped'],
        ['PT30M', 'pending'],
        ['PT4S', 'pending'],
        ['PT2S', 'pending'],
        ['PT0S', 'pending'],
      ]);
      expect(rows.every((row) => row.state !== 'pending' || row.enqueued_at)).toBe(true);
      return rows;
    });
    const end = topped.find((row) => row.lead_time === 'PT0S')!.fire_at.getTime();
    expect(topped.find((row) => row.lead_time === 'PT30M')!.fire_at.getTime()).toBe(
      end - 30 * 60_000,
    );
    const queue = app.get<AlertQueue>(ALERT_QUEUE);
    const thirty = topped.find((row) => row.lead_time === 'PT30M')!;
    expect(await queue.getJobState(`alert-${thirty.id}-${thirty.end_version}`)).toBe('delayed');

    // Updated with another one: that too, once.
    await subscriptions.update(created.id, { leadTimes: ['PT30M', 'PT20M'] });
    await eventually(async () =>
      expect(await leadTimesOf()).toEqual([
        ['PT2H', 'skipped'],
        ['PT30M', 'pending'],
        ['PT20M', 'pending'],
        ['PT4S', 'pending'],
        ['PT2S', 'pending'],
        ['PT0S', 'pending'],
      ]),
    );
  });
});

/** `Queue.add` takes name, data and options as three arguments. */
function spread(job: ReturnType<typeof fireJob>) {
  return [job.name, job.data, job.opts] as const;
}
