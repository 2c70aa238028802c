import { Logger } from '@nestjs/common';
import { createTestDatabase, eventually, StallingProxy, type TestDatabase } from '@app/testing';
import type { EntityManager } from 'typeorm';
import { EventStore } from './event-store';
import type { RecordedEvent } from './event-store.types';
import { SubscriptionRunner, type SubscriptionHandler } from './subscription-runner';

/** Writes one row per event into its own table, so that effects can be counted. */
class RecordingHandler implements SubscriptionHandler {
  failOn: string | undefined;
  constructor(
    readonly name: string,
    readonly batchSize = 50,
  ) {}
  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    for (const event of events) {
      if (event.type === this.failOn) throw new Error(`cannot handle ${event.type}`);
      await manager.query('INSERT INTO handled (consumer, position, type) VALUES ($1, $2, $3)', [
        this.name,
        event.position,
        event.type,
      ]);
    }
  }
}

describe('SubscriptionRunner', () => {
  let db: TestDatabase;
  let store: EventStore;
  const runners: SubscriptionRunner[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('subscriptions');
    store = new EventStore(db.pool);
    // A primary key on (consumer, position): applying an event twice would fail loudly.
    await db.pool.query(
      'CREATE TABLE handled (consumer text, position bigint, type text, PRIMARY KEY (consumer, position))',
    );
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((runner) => runner.stop()));
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  function runner(handler: SubscriptionHandler, pollIntervalMs = 60_000): SubscriptionRunner {
    const created = new SubscriptionRunner(handler, store, db.dataSource, {
      databaseUrl: db.url,
      pollIntervalMs,
      standbyRetryMs: 50,
      errorBackoffMs: 50,
    });
    runners.push(created);
    created.start();
    return created;
  }

  async function handled(consumer: string): Promise<string[]> {
    const rows: { type: string }[] = await db.dataSource.query(
      'SELECT type FROM handled WHERE consumer = $1 ORDER BY position',
      [consumer],
    );
    return rows.map((row) => row.type);
  }

  async function checkpointOf(name: string): Promise<number> {
    const rows: { position: string }[] = await db.dataSource.query(
      'SELECT position FROM subscription_checkpoints WHERE name = $1',
      [name],
    );
    return rows.length ? Number(rows[0].position) : 0;
  }

  it('is woken by an append well before its poll interval', async () => {
    const handler = new RecordingHandler('woken');
    const running = runner(handler, 60_000);
    await eventually(() => expect(running.status().active).toBe(true));
    const started = Date.now();
    const { positions } = await store.append('wake-1', [{ type: 'Woke', payload: {} }]);
    await eventually(async () => expect(await handled('woken')).toContain('Woke'), {
      timeoutMs: 3000,
    });
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(async () =>
      expect(await checkpointOf('woken')).toBeGreaterThanOrEqual(positions[0]),
    );
  });

  it('falls back to polling when no notification arrives', async () => {
    const handler = new RecordingHandler('polled');
    const running = runner(handler, 100);
    await eventually(() => expect(running.status().active).toBe(true));
    // Appended through SQL directly: nothing announces it.
    await db.pool.query(
      `SELECT accord_append('poll-1', NULL, NULL, '[{"eventId":"6f1f7c1e-6a59-4b2b-9a57-3f4f8b0b0001","type":"Polled","schemaVersion":1,"payload":{},"metadata":{}}]')`,
    );
    await eventually(async () => expect(await handled('polled')).toContain('Polled'));
  });

  it('commits effects and checkpoint together: a failing batch leaves neither, and is retried', async () => {
    const handler = new RecordingHandler('atomic', 10);
    handler.failOn = 'Poison';
    await store.append('atomic-1', [
      { type: 'Good', payload: {} },
      { type: 'Poison', payload: {} },
    ]);
    const before = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM handled');
    const running = runner(handler, 50);
    await eventually(() => expect(running.status().lastError).toContain('cannot handle Poison'));
    // The good event before the poison one was in the same batch: rolled back with it.
    expect(await handled('atomic')).toEqual([]);
    expect(await checkpointOf('atomic')).toBe(0);

    handler.failOn = undefined;
    await eventually(async () =>
      expect(await handled('atomic')).toEqual(expect.arrayContaining(['Good', 'Poison'])),
    );
    expect(running.status().lastError).toBeNull();
    const after = await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM handled');
    expect(Number(after.rows[0].n)).toBeGreaterThan(Number(before.rows[0].n));
  });

  it('says once that its batches fail, backs off while they do, and says when they succeed again', async () => {
    const errors = jest.spyOn(Logger.prototype, 'error');
    const logs = jest.spyOn(Logger.prototype, 'log');
    try {
      const handler = new RecordingHandler('quiet', 10);
      handler.failOn = 'Stuck';
      await store.append('quiet-1', [{ type: 'Stuck', payload: {} }]);
      const running = runner(handler, 50);
      await eventually(() => expect(running.status().lastError).toContain('cannot handle Stuck'));
      // At 50 ms between tries this would be about 20 tries; backing off, a handful.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const failures = () =>
        errors.mock.calls.filter(([message]) => String(message).includes('cannot handle Stuck'));
      expect(failures()).toHaveLength(1);
      // Said as what failed: a batch (its first, right after it took the lead).
      expect(String(failures()[0][0])).toMatch(/^Batch failed, will retry: /);

      handler.failOn = undefined;
      await eventually(async () => expect(await handled('quiet')).toContain('Stuck'), {
        timeoutMs: 3000,
      });
      expect(failures()).toHaveLength(1);
      expect(logs.mock.calls.map(([message]) => String(message))).toContainEqual(
        expect.stringMatching(/^Batches succeed again after \d+ failed tries/),
      );
    } finally {
      errors.mockRestore();
      logs.mockRestore();
    }
  });

  it('keeps one active runner per name across replicas; a standby takes over when it stops', async () => {
    const first = runner(new RecordingHandler('single'), 50);
    const second = runner(new RecordingHandler('single'), 50);
    await eventually(() => expect([first.status().active, second.status().active]).toContain(true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect([first, second].filter((r) => r.status().active)).toHaveLength(1);

    for (let i = 0; i < 30; i += 1)
      await store.append(`single-${i}`, [{ type: `S${i}`, payload: {} }]);
    const leader = first.status().active ? first : second;
    const standby = leader === first ? second : first;
    await leader.stop();
    for (let i = 30; i < 60; i += 1)
      await store.append(`single-${i}`, [{ type: `S${i}`, payload: {} }]);

    await eventually(() => expect(standby.status().active).toBe(true));
    const expected = Array.from({ length: 60 }, (_, i) => `S${i}`);
    // Each event handled exactly once: the primary key would have refused a second insert.
    await eventually(
      async () =>
        expect((await handled('single')).filter((t) => /^S\d+$/.test(t))).toEqual(expected),
      { timeoutMs: 8000 },
    );
  });

  it('resumes from its stored checkpoint after a restart without handling anything twice', async () => {
    await store.append('resume-1', [{ type: 'R1', payload: {} }]);
    const firstRun = runner(new RecordingHandler('resume'), 50);
    await eventually(async () => expect(await handled('resume')).toContain('R1'));
    await firstRun.stop();
    await store.append('resume-2', [{ type: 'R2', payload: {} }]);
    runner(new RecordingHandler('resume'), 50);
    await eventually(async () => expect(await handled('resume')).toContain('R2'));
    const all = await handled('resume');
    expect(all.filter((type) => type === 'R1')).toHaveLength(1);
  });

  it('a standby cut off from the database shows it failing, and not once it answers again', async () => {
    // Another replica leads: the test's own connection holds the lock.
    const leader = await db.pool.connect();
    await leader.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
      'accord-subscription:standing-by',
    ]);
    const proxy = await StallingProxy.start(db.url);
    const standby = new SubscriptionRunner(
      new RecordingHandler('standing-by'),
      store,
      db.dataSource,
      {
        databaseUrl: proxy.through(db.url),
        pollIntervalMs: 50,
        standbyRetryMs: 50,
        errorBackoffMs: 50,
        leaderCheckTimeoutMs: 300,
      },
    );
    runners.push(standby);
    try {
      proxy.stall();
      standby.start();
      await eventually(() => expect(standby.status().lastError).not.toBeNull());
      proxy.heal();
      await eventually(() => expect(standby.status()).toMatchObject({ lastError: null }), {
        timeoutMs: 5000,
      });
      expect(standby.status().active).toBe(false);
    } finally {
      await standby.stop();
      await proxy.close();
      leader.release(true);
    }
  });

  it('steps down when its lock connection stops answering, shows why, and leads again once the path heals', async () => {
    // Its lock's connection goes through a proxy that cuts it without a word (a partition).
    const proxy = await StallingProxy.start(db.url);
    const handler = new RecordingHandler('partitioned');
    const cut = new SubscriptionRunner(handler, store, db.dataSource, {
      databaseUrl: proxy.through(db.url),
      pollIntervalMs: 50,
      standbyRetryMs: 50,
      errorBackoffMs: 50,
      leaderCheckMs: 100,
      leaderCheckTimeoutMs: 300,
    });
    runners.push(cut);
    try {
      cut.start();
      await eventually(() => expect(cut.status().active).toBe(true));

      proxy.stall();
      await eventually(() => {
        expect(cut.status().active).toBe(false);
        expect(cut.status().lastError).toMatch(/^Leadership connection not answering/);
      });

      proxy.heal();
      await store.append('after-partition', [{ type: 'AfterPartition', payload: {} }]);
      await eventually(async () => {
        expect(await handled('partitioned')).toContain('AfterPartition');
      });
      expect(cut.status()).toMatchObject({ active: true, lastError: null });
    } finally {
      await cut.stop();
      await proxy.close();
    }
  });
});
