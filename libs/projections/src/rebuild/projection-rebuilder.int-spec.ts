import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { poolOf } from '@app/database';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import { recordMeasureBody } from '@app/trade';
import { Client } from 'pg';
import type { EntityManager } from 'typeorm';
import { AgreementStatusProjection } from '../agreement-status/agreement-status.projection';
import { MeasureStatusProjection } from '../measure-status/measure-status.projection';
import { SuspensionEndsProjection } from '../suspension-ends/suspension-ends.projection';
import {
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from '../testing/projection-test-app';
import { TimelineProjection } from '../timeline/timeline.projection';
import {
  ProjectionRebuilder,
  RebuildAbortedError,
  RebuildInProgressError,
} from './projection-rebuilder';
import type { RebuildableProjection } from './rebuildable-projection';
import { REBUILD_SCHEMA } from './shadow-tables';

const notice = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  official: true,
  confidence: 'H' as const,
};

/**
 * The measure-status projection plus a second table that counts how often each event was
 * applied, so that "nothing lost, nothing applied twice" is a row count, not a belief. Its
 * checkpoint is its own; its tables are the live `measure_status` and `rebuild_audit`.
 */
class AuditedMeasureStatus implements RebuildableProjection {
  readonly name = 'test:audited-measure-status';
  readonly batchSize = 3;
  readonly tables = ['measure_status', 'rebuild_audit'];

  constructor(
    private readonly inner: MeasureStatusProjection,
    /** The audit counts per event, not per stream, but it does not mind the order either. */
    readonly perStream = false,
  ) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    await this.inner.handle(events, manager);
    if (!events.length) return;
    await manager.query(
      `INSERT INTO rebuild_audit (position, applied) SELECT unnest($1::bigint[]), 1
       ON CONFLICT (position) DO UPDATE SET applied = rebuild_audit.applied + 1`,
      [events.map((event) => event.position)],
    );
  }
}

/** Stops one call of a handler where the test wants it, until the test lets it go on. */
class Gate {
  private armed: { reached: (events: RecordedEvent[]) => void; opened: Promise<void> } | null =
    null;

  arm(): { reached: Promise<RecordedEvent[]>; open: () => void } {
    let reached!: (events: RecordedEvent[]) => void;
    let open!: () => void;
    const reachedPromise = new Promise<RecordedEvent[]>((resolve) => (reached = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.armed = { reached, opened };
    return { reached: reachedPromise, open };
  }

  async pass(events: RecordedEvent[]): Promise<void> {
    const armed = this.armed;
    if (!armed) return;
    this.armed = null;
    armed.reached(events);
    await armed.opened;
  }
}

/** The handler, under its own name, stopping at the gate before or after its writes. */
function gated(
  handler: SubscriptionHandler,
  gate: Gate,
  where: 'before-writing' | 'after-writing',
): SubscriptionHandler {
  return {
    name: handler.name,
    batchSize: handler.batchSize,
    async handle(events, manager) {
      if (where === 'before-writing') await gate.pass(events);
      await handler.handle(events, manager);
      if (where === 'after-writing') await gate.pass(events);
    },
  };
}

/** The handler writing into the tables of another schema (its SQL names them unqualified). */
function inSchema(schema: string, handler: SubscriptionHandler): SubscriptionHandler {
  return {
    name: `${handler.name}@${schema}`,
    batchSize: handler.batchSize,
    async handle(events, manager) {
      const [{ path }]: { path: string }[] = await manager.query(
        `SELECT current_setting('search_path') AS path`,
      );
      await manager.query(`SELECT set_config('search_path', $1, true)`, [schema]);
      await handler.handle(events, manager);
      await manager.query(`SELECT set_config('search_path', $1, true)`, [path]);
    },
  };
}

describe('ProjectionRebuilder on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let rebuilder: ProjectionRebuilder;
  let measureStatus: MeasureStatusProjection;
  let audited: AuditedMeasureStatus;
  let written = 0;

  const rows = (table: string, key: string) => t.rows(table, key);
  /** Every row of a table, in primary-key order. */
  const snapshot = async (table: string) => {
    const key: { columns: string }[] = await t.dataSource.query(
      `SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS columns
         FROM pg_index i
         CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = to_regclass($1) AND i.indisprimary`,
      [table],
    );
    return rows(table, key[0]?.columns ?? `${table}::text`);
  };
  const checkpointOf = async (name: string) => {
    const found: { position: string }[] = await t.dataSource.query(
      'SELECT position FROM subscription_checkpoints WHERE name = $1',
      [name],
    );
    return Number(found[0]?.position);
  };
  const definitionOf = (table: string) =>
    t.dataSource.query(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1
       UNION ALL
       SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = to_regclass($1)
       ORDER BY 1, 2`,
      [table],
    );

  /** A few facts of different kinds, each a command through the real write side. */
  async function writeSomething(): Promise<void> {
    written += 1;
    const created = await t.measure(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        code: `REBUILD-${written}-${uniqueSuffix()}`,
        title: `Duty recorded during a rebuild (${written})`,
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 20 },
        timeZone: 'America/New_York',
        effectiveAt: '2025-03-01T05:00:00Z',
        sources: [notice],
      }),
    });
    if (written % 2 === 0) {
      await t.measure(created.id, {
        action: 'schedule-suspension',
        body: {
          startsAt: '2025-11-10T05:01:00Z',
          endsAt: '2026-11-10T05:01:00Z',
          part: { percentPoints: 5 },
          sources: [notice],
        },
      });
    }
  }

  /** The audited projection starts over, both tables empty, its checkpoint at zero. */
  async function resetAudited(): Promise<void> {
    await t.dataSource.query('TRUNCATE measure_status, rebuild_audit');
    await t.dataSource.query('DELETE FROM subscription_checkpoints WHERE name = $1', [
      audited.name,
    ]);
  }

  /** Every event of the log applied exactly once to the live tables. */
  async function expectEveryEventAppliedOnce(): Promise<void> {
    const head = await t.store.headPosition();
    const [audit]: { events: string; first: string; last: string; most: number }[] =
      await t.dataSource.query(
        `SELECT count(*) AS events, min(position) AS first, max(position) AS last,
                max(applied) AS most FROM rebuild_audit`,
      );
    expect(audit).toEqual({ events: String(head), first: '1', last: String(head), most: 1 });
  }

  /** The live measure_status equals the same projection built incrementally from zero. */
  async function expectSameAsIncremental(): Promise<void> {
    await t.dataSource.query('TRUNCATE rebuild_reference.measure_status');
    await t.projectPages(inSchema('rebuild_reference', measureStatus), 7);
    const reference = await rows('rebuild_reference.measure_status', 'measure_id');
    const live = await rows('measure_status', 'measure_id');
    expect(live.length).toBeGreaterThan(20);
    expect(live).toEqual(reference);
  }

  beforeAll(async () => {
    db = await createTestDatabase('proj_rebuild');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    measureStatus = t.app.get(MeasureStatusProjection);
    audited = new AuditedMeasureStatus(measureStatus);
    rebuilder = new ProjectionRebuilder(t.dataSource, t.store, poolOf(t.dataSource));
    await t.seed();
    await t.dataSource.query(
      `CREATE TABLE rebuild_audit (position bigint PRIMARY KEY, applied integer NOT NULL);
       CREATE SCHEMA rebuild_reference;
       CREATE TABLE rebuild_reference.measure_status (LIKE measure_status INCLUDING ALL);`,
    );
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it.each([
    ['stream by stream', true],
    ['in log order', false],
  ])(
    'rebuilds every projection to the rows it built incrementally, tables defined alike (copy %s)',
    async (_, perStream) => {
      const projections = [
        measureStatus,
        t.app.get(AgreementStatusProjection),
        t.app.get(SuspensionEndsProjection),
        t.app.get(TimelineProjection),
      ];
      for (const projection of projections) {
        const { runner, caughtUp } = await t.runner(projection);
        await caughtUp();
        await runner.stop();
      }
      const tables = projections.flatMap((projection) => projection.tables);
      const before = new Map<string, unknown>();
      for (const table of tables) {
        before.set(table, { rows: await snapshot(table), definition: await definitionOf(table) });
        expect((await snapshot(table)).length).toBeGreaterThan(2);
      }
      const head = await t.store.headPosition();

      const phases = new Set<string>();
      // Each projection as it is, but copied in the order under test.
      const copied = projections.map((projection) => ({
        name: projection.name,
        tables: projection.tables,
        perStream,
        handle: (events: RecordedEvent[], manager: EntityManager) =>
          projection.handle(events, manager),
      }));
      const results = await rebuilder.rebuild(copied, {
        batchEvents: 50,
        pageSize: 20,
        onProgress: (progress) => phases.add(progress.phase),
      });

      expect(results.map(({ name, position }) => ({ name, position }))).toEqual(
        projections.map(({ name }) => ({ name, position: head })),
      );
      expect([...phases]).toEqual(['copying', 'indexing', 'catching-up', 'swapping']);
      for (const table of tables) {
        // Same rows, and the same index and constraint names and definitions: later
        // migrations can name them.
        expect({ rows: await snapshot(table), definition: await definitionOf(table) }).toEqual(
          before.get(table),
        );
      }
      for (const projection of projections) {
        expect(await checkpointOf(projection.name)).toBe(head);
      }
      const [{ left }]: { left: string }[] = await t.dataSource.query(
        `SELECT count(*) AS left FROM pg_tables WHERE schemaname = $1`,
        [REBUILD_SCHEMA],
      );
      expect(left).toBe('0');
    },
  );

  it.each([
    ['in log order', false],
    ['stream by stream', true],
  ])(
    'loses no event and applies none twice while a live runner projects new facts (copy %s)',
    async (_, perStream) => {
      await resetAudited();
      const projection = new AuditedMeasureStatus(measureStatus, perStream);
      const { runner, caughtUp } = await t.runner(projection);
      await caughtUp();
      const headBefore = await t.store.headPosition();

      let writing = true;
      const writer = (async () => {
        while (writing) await writeSomething();
      })();
      // Small batches, so that the rebuild takes long enough for facts to arrive meanwhile.
      const [result] = await rebuilder
        .rebuild([projection], { batchEvents: 7, pageSize: 7 })
        .finally(async () => {
          await writeSomething();
          writing = false;
          await writer;
        });
      await caughtUp();
      await runner.stop();

      // Facts arrived during the rebuild (the copy has some) and after its swap (the runner).
      expect(result.position).toBeGreaterThan(headBefore);
      expect(await t.store.headPosition()).toBeGreaterThan(result.position);
      await expectEveryEventAppliedOnce();
      await expectSameAsIncremental();
    },
  );

  it('rolls back a runner batch begun before the swap; the runner resumes from the swapped-in checkpoint', async () => {
    const logs = jest.spyOn(Logger.prototype, 'log');
    await resetAudited();
    const gate = new Gate();
    const { runner, caughtUp } = await t.runner(gated(audited, gate, 'before-writing'));
    await caughtUp();

    // The runner has read a batch and opened its transaction, but not touched the tables yet.
    const first = gate.arm();
    await writeSomething();
    const stale = await first.reached;
    const checkpointBefore = await checkpointOf(audited.name);
    expect(stale[0].position).toBe(checkpointBefore + 1);

    // The rebuild does not wait for it: the batch holds no lock on the live tables.
    const [result] = await rebuilder.rebuild([audited]);
    expect(result.position).toBe(await t.store.headPosition());
    expect(result.position).toBeGreaterThanOrEqual(stale[stale.length - 1].position);

    const second = gate.arm();
    await writeSomething();
    first.open();
    // The stale batch ran against the new tables, its fenced checkpoint update found the
    // checkpoint moved, it rolled back; the runner stepped down, led again and read on from
    // the rebuild's position. Said as what it is, not as a failure (no error, nothing failing).
    const resumed = await second.reached;
    expect(logs).toHaveBeenCalledWith(
      expect.stringMatching(
        /^The checkpoint of test:audited-measure-status moved under this runner/,
      ),
    );
    expect(runner.status().lastError).toBeNull();
    logs.mockRestore();
    expect(resumed[0].position).toBe(result.position + 1);
    second.open();

    await caughtUp();
    await runner.stop();
    await expectEveryEventAppliedOnce();
    await expectSameAsIncremental();
  });

  it('makes the swap wait for a runner batch that has written the live tables, without deadlock', async () => {
    await resetAudited();
    const gate = new Gate();
    const { runner, caughtUp } = await t.runner(gated(audited, gate, 'after-writing'));
    await caughtUp();

    const held = gate.arm();
    await writeSomething();
    const batch = await held.reached;
    const rebuilding = rebuilder.rebuild([audited], { lockTimeoutMs: 20_000 });
    await eventually(
      async () => {
        const [{ waiting }]: { waiting: string }[] = await t.dataSource.query(
          `SELECT count(*) AS waiting FROM pg_locks
            WHERE NOT granted AND relation IN ('measure_status'::regclass, 'rebuild_audit'::regclass)`,
        );
        expect(Number(waiting)).toBeGreaterThan(0);
      },
      { timeoutMs: 15_000 },
    );
    held.open();
    const [result] = await rebuilding;

    // The runner's batch committed first; the swap then took the log from where the copy was.
    expect(result.position).toBeGreaterThanOrEqual(batch[batch.length - 1].position);
    await writeSomething();
    await caughtUp();
    await runner.stop();
    await expectEveryEventAppliedOnce();
    await expectSameAsIncremental();
  });

  it('makes readers queued behind the swap read the new table, not fail on the dropped one', async () => {
    const { runner, caughtUp } = await t.runner(measureStatus);
    await caughtUp();
    await runner.stop();
    const [{ full }]: { full: string }[] = await t.dataSource.query(
      'SELECT count(*) AS full FROM measure_status',
    );
    // The live table lacks rows that the rebuilt one will have.
    await t.dataSource.query(
      `DELETE FROM measure_status WHERE measure_id IN (SELECT measure_id FROM measure_status LIMIT 5)`,
    );
    const connect = async () => {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      return client;
    };
    const holder = await connect();
    const reader = await connect();
    try {
      // A long read holds the live table, so the swap has to wait for it…
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM measure_status');
      const rebuilding = rebuilder.rebuild([measureStatus], { lockTimeoutMs: 20_000 });
      const waiting = async (expected: number) => {
        const [{ count }]: { count: string }[] = await t.dataSource.query(
          `SELECT count(*) FROM pg_locks
            WHERE NOT granted AND relation = 'measure_status'::regclass`,
        );
        expect(Number(count)).toBe(expected);
      };
      await eventually(() => waiting(1), { timeoutMs: 15_000 });
      // …and a read that arrives meanwhile queues behind the swap.
      const queued = reader.query<{ count: string }>('SELECT count(*) FROM measure_status');
      await eventually(() => waiting(2), { timeoutMs: 5_000 });
      await holder.query('COMMIT');

      await rebuilding;
      expect((await queued).rows[0].count).toBe(full);
    } finally {
      await holder.end();
      await reader.end();
    }
  });

  it('leaves the live tables as they were when a rebuild fails, and no copy behind', async () => {
    const before = await rows('measure_status', 'measure_id');
    const failing: RebuildableProjection = {
      name: 'test:failing',
      tables: ['measure_status'],
      async handle(events, manager) {
        await measureStatus.handle(events, manager);
        if (events.some((event) => event.position > 100)) throw new Error('projection bug');
      },
    };
    await expect(rebuilder.rebuild([failing], { batchEvents: 50 })).rejects.toThrow(
      'projection bug',
    );
    expect(await rows('measure_status', 'measure_id')).toEqual(before);
    expect(
      await t.dataSource.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1`, [REBUILD_SCHEMA]),
    ).toEqual([]);
  });

  it('stops between batches when asked (a Ctrl-C): no copy behind, the live tables as they were', async () => {
    const before = await rows('measure_status', 'measure_id');
    const stop = new AbortController();
    const stopping: RebuildableProjection = {
      name: 'test:stopping',
      tables: ['measure_status'],
      async handle(events, manager) {
        await measureStatus.handle(events, manager);
        stop.abort();
      },
    };
    await expect(
      rebuilder.rebuild([stopping], { batchEvents: 50, signal: stop.signal }),
    ).rejects.toBeInstanceOf(RebuildAbortedError);
    expect(await rows('measure_status', 'measure_id')).toEqual(before);
    expect(
      await t.dataSource.query(`SELECT 1 FROM pg_tables WHERE schemaname = $1`, [REBUILD_SCHEMA]),
    ).toEqual([]);
  });

  it('fails instead of writing live data when a projection touches a table it does not declare', async () => {
    const before = await rows('measure_status', 'measure_id');
    const undeclared: RebuildableProjection = {
      name: 'test:undeclared',
      tables: ['rebuild_audit'],
      handle: (events, manager) => measureStatus.handle(events, manager),
    };
    await expect(rebuilder.rebuild([undeclared])).rejects.toThrow(
      'relation "measure_status" does not exist',
    );
    expect(await rows('measure_status', 'measure_id')).toEqual(before);
  });

  it('says it is waiting while an append begun before it holds the head back', async () => {
    const open = new Client({ connectionString: db.url });
    await open.connect();
    const phases: string[] = [];
    try {
      // An append left open: it could still commit an event below the head.
      await open.query('BEGIN');
      await open.query('SELECT accord_append($1, NULL, NULL, $2)', [
        'held-open',
        JSON.stringify([
          { eventId: randomUUID(), type: 'Held', schemaVersion: 1, payload: {}, metadata: {} },
        ]),
      ]);
      const rebuilt = rebuilder.rebuild([measureStatus], {
        onProgress: (progress) => phases.push(progress.phase),
      });
      await eventually(() => expect(phases).toEqual(['waiting']), { timeoutMs: 5000 });
      await open.query('COMMIT');
      await rebuilt;
      expect(phases[0]).toBe('waiting');
      expect(phases).toContain('swapping');
    } finally {
      await open.end();
    }
  });

  it('refuses to run two rebuilds of a projection at once', async () => {
    const other = new Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
        `accord-rebuild:${audited.name}`,
      ]);
      await expect(rebuilder.rebuild([audited])).rejects.toThrow(RebuildInProgressError);
    } finally {
      await other.end();
    }
  });
});
