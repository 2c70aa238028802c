import { measureStatusAt, type Measure, type Source } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { recordMeasureBody, type RecordMeasureBody } from '@app/trade';
import {
  renamed,
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from '../testing/projection-test-app';
import { MEASURE_STATUS_PROJECTION, MeasureStatusProjection } from './measure-status.projection';
import { toMeasureSummary } from './measure-view';

const TABLE = 'measure_status';
const KEY = 'measure_id';

const notice: Source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  documentNumber: 'EO 99999',
  official: true,
  confidence: 'H',
};

function usTariff(code: string, overrides: Partial<RecordMeasureBody> = {}): RecordMeasureBody {
  return recordMeasureBody.parse({
    code,
    title: `Test duty on products of China (${code})`,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rate: { type: 'ad-valorem', percent: 10 },
    timeZone: 'America/New_York',
    effectiveAt: '2025-01-01T05:00:00Z',
    sources: [notice],
    ...overrides,
  });
}

const percentAt = (measure: Measure, asOf: string) =>
  measureStatusAt(measure, asOf)?.rateInForce ?? null;

describe('MeasureStatusProjection on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: MeasureStatusProjection;
  /** Measures of this file, beyond the bundled dataset. */
  const own = { backdated: '', retracted: '', revived: '', unmade: '' };

  async function rowOf(measureId: string) {
    const rows: { measure: Measure; [column: string]: unknown }[] = await t.dataSource.query(
      `SELECT * FROM ${TABLE} WHERE ${KEY} = $1`,
      [measureId],
    );
    return rows[0];
  }

  /** Per measure stream: its last version and last global position. */
  async function streamHeads(): Promise<Map<string, { version: string; position: string }>> {
    const rows: { id: string; version: string; position: string }[] = await t.dataSource.query(
      `SELECT substr(stream_id, 9) AS id, max(version)::text AS version, max(position)::text AS position
         FROM events WHERE stream_id LIKE 'measure-%' GROUP BY stream_id`,
    );
    return new Map(rows.map((row) => [row.id, { version: row.version, position: row.position }]));
  }

  beforeAll(async () => {
    db = await createTestDatabase('proj_measure_status');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(MeasureStatusProjection);
    await t.seed();

    // Valid time recorded out of order: the later amendment takes effect first.
    const backdated = await t.measure(null, {
      action: 'record-measure',
      body: usTariff(`BACKDATED-${uniqueSuffix()}`),
    });
    own.backdated = backdated.id;
    for (const [percent, effectiveAt] of [
      [30, '2025-06-01T04:00:00Z'],
      [20, '2025-03-01T05:00:00Z'],
    ] as const) {
      await t.measure(own.backdated, {
        action: 'amend-measure',
        body: { rate: { type: 'ad-valorem', percent }, effectiveAt, sources: [notice] },
      });
    }

    // An amendment found wrong and retracted.
    own.retracted = (
      await t.measure(null, { action: 'record-measure', body: usTariff(`RETR-${uniqueSuffix()}`) })
    ).id;
    const wrong = await t.measure(own.retracted, {
      action: 'amend-measure',
      body: {
        rate: { type: 'ad-valorem', percent: 50 },
        effectiveAt: '2025-05-01T04:00:00Z',
        sources: [notice],
      },
    });
    await t.measure(own.retracted, {
      action: 'retract-event',
      body: { eventId: wrong.eventIds[0], reason: 'Misread the order', sources: [notice] },
    });

    // A retraction that was itself retracted: the amendment counts again.
    own.revived = (
      await t.measure(null, {
        action: 'record-measure',
        body: usTariff(`REVIVED-${uniqueSuffix()}`),
      })
    ).id;
    const right = await t.measure(own.revived, {
      action: 'amend-measure',
      body: {
        rate: { type: 'ad-valorem', percent: 25 },
        effectiveAt: '2025-05-01T04:00:00Z',
        sources: [notice],
      },
    });
    const retraction = await t.measure(own.revived, {
      action: 'retract-event',
      body: { eventId: right.eventIds[0], reason: 'Thought it wrong', sources: [notice] },
    });
    await t.measure(own.revived, {
      action: 'retract-event',
      body: {
        eventId: retraction.eventIds[0],
        reason: 'It was right after all',
        sources: [notice],
      },
    });

    // A measure whose very creation was retracted: its row says there is no measure.
    const unmade = await t.measure(null, {
      action: 'record-measure',
      body: usTariff(`UNMADE-${uniqueSuffix()}`),
    });
    own.unmade = unmade.id;
    await t.measure(own.unmade, {
      action: 'retract-event',
      body: { eventId: unmade.eventIds[0], reason: 'Never existed', sources: [notice] },
    });
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('folds each measure stream into one row as the worker runs it, answering on any date', async () => {
    await t.truncate(TABLE);
    const { runner, caughtUp } = await t.runner(projection);
    await caughtUp();
    await runner.stop();

    const heads = await streamHeads();
    const rows = await t.rows(TABLE, KEY);
    expect(rows.map((row) => row.measure_id).sort()).toEqual([...heads.keys()].sort());
    for (const row of rows) {
      const head = heads.get(String(row.measure_id));
      expect({ version: row.version, lastPosition: row.last_position }).toEqual({
        version: head?.version,
        lastPosition: head?.position,
      });
    }

    const reciprocalId = t.datasetId('measure', 'US-RECIPROCAL-CN');
    const reciprocal = await rowOf(reciprocalId);
    expect(reciprocal).toMatchObject({
      code: 'US-RECIPROCAL-CN',
      kind: 'tariff',
      imposing_party: 'US',
      target_parties: ['CN'],
    });
    expect(reciprocal.agreement_ids).toEqual(
      expect.arrayContaining([t.datasetId('agreement', 'GENEVA-2025')]),
    );
    expect(reciprocal.search).toContain('us-reciprocal-cn');
    const june = measureStatusAt(reciprocal.measure, '2026-06-01T00:00:00Z');
    expect(june).toMatchObject({
      status: 'partially-suspended',
      rateInForce: { percent: 10 },
      fullRate: { percent: 34 },
      suspendedPart: { percentPoints: 24 },
    });
    expect(new Date(june?.activeSuspension?.endsAt ?? 0).toISOString()).toBe(
      '2026-11-10T05:01:00.000Z',
    );
    expect(measureStatusAt(reciprocal.measure, '2026-12-01T00:00:00Z')).toMatchObject({
      status: 'in-force',
      rateInForce: { percent: 34 },
      activeSuspension: null,
    });

    const countermeasure = await rowOf(t.datasetId('measure', 'CN-TC-2025-4'));
    expect(countermeasure).toMatchObject({ imposing_party: 'CN', target_parties: ['US'] });
    expect(countermeasure.responds_to).toContain(reciprocalId);

    const backdated = (await rowOf(own.backdated)).measure;
    expect(backdated.rateHistory.map((change) => change.from ?? null)).toEqual([
      null,
      '2025-03-01T05:00:00.000Z',
      '2025-06-01T04:00:00.000Z',
    ]);
    expect(percentAt(backdated, '2025-02-01T00:00:00Z')).toMatchObject({ percent: 10 });
    expect(percentAt(backdated, '2025-04-01T00:00:00Z')).toMatchObject({ percent: 20 });
    expect(percentAt(backdated, '2025-07-01T00:00:00Z')).toMatchObject({ percent: 30 });

    const retracted = await rowOf(own.retracted);
    expect(retracted.version).toBe('3');
    expect(percentAt(retracted.measure, '2025-07-01T00:00:00Z')).toMatchObject({ percent: 10 });
    expect(retracted.measure.rateHistory).toHaveLength(1);

    const revived = await rowOf(own.revived);
    expect(revived.version).toBe('4');
    expect(percentAt(revived.measure, '2025-07-01T00:00:00Z')).toMatchObject({ percent: 25 });

    const unmade = await rowOf(own.unmade);
    expect(unmade).toMatchObject({ code: null, title: null, kind: null, version: '2' });
    expect(unmade.measure).toBeNull();
    expect(unmade.list_entry).toBeNull();
  });

  it('keeps a list entry that gives every list item the full measure gives, on any date', async () => {
    const rows: { measure: Measure; list_entry: Measure }[] = await t.dataSource.query(
      `SELECT measure, list_entry FROM ${TABLE} WHERE measure IS NOT NULL`,
    );
    expect(rows.length).toBeGreaterThan(20);
    const dates = [
      '2018-07-06',
      '2025-04-10',
      '2025-05-14',
      '2025-11-10',
      '2026-06-01',
      '2027-01-01',
    ];
    for (const row of rows) {
      expect(JSON.stringify(row.list_entry).length).toBeLessThan(
        JSON.stringify(row.measure).length,
      );
      for (const date of dates) {
        const asOf = new Date(`${date}T12:00:00Z`);
        expect(toMeasureSummary(row.list_entry, asOf, 1)).toEqual(
          toMeasureSummary(row.measure, asOf, 1),
        );
      }
    }
  });

  it('stores each list item with a span of valid time over which the status cannot change', async () => {
    const rows: {
      measure: Measure;
      list_item: unknown;
      list_item_from: Date | null;
      list_item_until: Date | null;
      version: string;
    }[] = await t.dataSource.query(
      `SELECT measure, list_item, list_item_from, list_item_until, version
         FROM ${TABLE} WHERE measure IS NOT NULL`,
    );
    const year = 365 * 24 * 3600 * 1000;
    let bounded = 0;
    for (const row of rows) {
      const from = row.list_item_from?.getTime() ?? Date.now() - 30 * year;
      const until = row.list_item_until?.getTime() ?? Date.now() + 30 * year;
      if (row.list_item_until) bounded += 1;
      expect(from).toBeLessThanOrEqual(Date.now());
      expect(until).toBeGreaterThan(Date.now());
      const version = Number(row.version);
      for (const at of [from, (from + until) / 2, until - 1, Date.now()]) {
        expect(row.list_item).toEqual(toMeasureSummary(row.measure, new Date(at), version));
      }
      // At the end of the span it may differ, and the reader computes it instead.
    }
    // The Kuala Lumpur suspensions still to end bound their measures' spans.
    expect(bounded).toBeGreaterThan(0);
  });

  it('changes nothing when batches it has applied are delivered again', async () => {
    await t.truncate(TABLE);
    await t.projectPages(projection, 50);
    const once = await t.rows(TABLE, KEY);

    // A crash between the batch's effects and its checkpoint: every page comes again…
    await t.projectPages(projection, 50);
    // …or pages cut differently, and a batch that carries each event twice.
    await t.projectPages(projection, 7);
    const events = await t.allEvents();
    await t.projectBatch(
      projection,
      events.flatMap((event) => [event, event]),
    );
    await t.projectBatch(projection, events.slice(-25));

    expect(await t.rows(TABLE, KEY)).toEqual(once);
  });

  it('gives the same rows for a batch of interleaved streams as stream by stream', async () => {
    const events = await t.allEvents();
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    expect([...byStream.keys()].filter((id) => id.startsWith('measure-')).length).toBeGreaterThan(
      20,
    );
    expect([...byStream.keys()].some((id) => id.startsWith('agreement-'))).toBe(true);

    // Stream by stream, the streams in reverse order of their first event.
    await t.truncate(TABLE);
    for (const streamEvents of [...byStream.values()].reverse()) {
      await t.projectBatch(projection, streamEvents);
    }
    const streamByStream = await t.rows(TABLE, KEY);

    // The global log as one batch: streams interleaved, agreements' events among them.
    await t.truncate(TABLE);
    await t.projectBatch(projection, events);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);

    // Round robin, last stream first: each stream in version order, nothing else in order.
    const queues = [...byStream.values()].reverse().map((streamEvents) => [...streamEvents]);
    const roundRobin: RecordedEvent[] = [];
    while (queues.some((queue) => queue.length)) {
      for (const queue of queues) {
        const next = queue.shift();
        if (next) roundRobin.push(next);
      }
    }
    await t.truncate(TABLE);
    await t.projectBatch(projection, roundRobin);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);

    // Single-event batches: every batch starts in the middle of some stream.
    await t.truncate(TABLE);
    await t.projectPages(projection, 1);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);
  });

  it('rebuilds from position zero in one pass to the rows it built incrementally', async () => {
    await t.truncate(TABLE);
    const incremental = renamed(projection, `${MEASURE_STATUS_PROJECTION}:incremental`, 5);
    const live = await t.runner(incremental);
    await live.caughtUp();

    // New facts arrive while the projection is running: it follows them batch by batch.
    const late = await t.measure(null, {
      action: 'record-measure',
      body: usTariff(`LATE-${uniqueSuffix()}`, { effectiveAt: '2025-09-01T04:00:00Z' }),
    });
    const suspension = await t.measure(late.id, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-11-10T05:01:00Z',
        endsAt: '2026-11-10T05:01:00Z',
        part: { percentPoints: 4 },
        sources: [notice],
      },
    });
    const extended = await t.measure(late.id, {
      action: 'extend-suspension',
      suspensionId: suspension.suspensionId ?? '',
      body: {
        endsAt: '2027-11-10T05:01:00Z',
        effectiveAt: '2026-11-01T05:00:00Z',
        sources: [notice],
      },
    });
    const amendment = await t.measure(t.datasetId('measure', 'US-RECIPROCAL-CN'), {
      action: 'amend-measure',
      body: {
        rate: { type: 'ad-valorem', percent: 44 },
        effectiveAt: '2026-12-01T05:00:00Z',
        sources: [notice],
      },
    });
    await t.measure(t.datasetId('measure', 'US-RECIPROCAL-CN'), {
      action: 'retract-event',
      body: { eventId: amendment.eventIds[0], reason: 'A rumour', sources: [notice] },
    });
    await live.caughtUp();
    await live.runner.stop();
    const incrementally = await t.rows(TABLE, KEY);
    const eventCount = (await t.allEvents()).length;
    expect(incremental.batches).toBeGreaterThanOrEqual(Math.ceil(eventCount / 5));
    const lateRow = incrementally.find((row) => row.measure_id === late.id);
    expect(lateRow).toMatchObject({ version: String(extended.version) });
    expect(measureStatusAt(lateRow?.measure as Measure, '2027-06-01T00:00:00Z')).toMatchObject({
      status: 'partially-suspended',
      rateInForce: { percent: 6 },
    });

    await t.truncate(TABLE);
    const rebuild = renamed(projection, `${MEASURE_STATUS_PROJECTION}:rebuild`, 100_000);
    const rebuilding = await t.runner(rebuild);
    await rebuilding.caughtUp();
    await rebuilding.runner.stop();
    expect(rebuild.batches).toBe(1);

    const rebuilt = await t.rows(TABLE, KEY);
    expect(rebuilt).toHaveLength(incrementally.length);
    expect(rebuilt).toEqual(incrementally);
  });
});
