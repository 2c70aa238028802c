import type { Source } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { recordMeasureBody, type RecordMeasureBody } from '@app/trade';
import {
  renamed,
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from '../testing/projection-test-app';
import { SuspensionEndQueries } from './suspension-end-queries';
import { SUSPENSION_ENDS_PROJECTION, SuspensionEndsProjection } from './suspension-ends.projection';

const TABLES = [
  ['suspension_ends', 'measure_id, suspension_id'],
  ['suspension_end_measures', 'measure_id'],
] as const;

const notice: Source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order suspending part of the duty',
  documentNumber: 'EO 99998',
  official: true,
  confidence: 'H',
};

function usTariff(code: string): RecordMeasureBody {
  return recordMeasureBody.parse({
    code,
    title: `Test duty on products of China (${code})`,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rate: { type: 'ad-valorem', percent: 30 },
    timeZone: 'America/New_York',
    effectiveAt: '2025-01-01T05:00:00Z',
    sources: [notice],
  });
}

interface EndRow {
  measure_id: string;
  suspension_id: string;
  state: string;
  ends_at: Date | null;
  extensions: number;
  sequence: number;
  changed_at: Date;
  [column: string]: unknown;
}

describe('SuspensionEndsProjection on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: SuspensionEndsProjection;
  let queries: SuspensionEndQueries;
  /** Measures and suspensions of this file, beyond the bundled dataset. */
  const own = {
    extended: '',
    extendedSuspension: '',
    lifted: '',
    liftedSuspension: '',
    unscheduled: '',
    unscheduledSuspension: '',
    unmade: '',
    unmadeSuspension: '',
    revived: '',
    revivedSuspension: '',
  };
  /** The stream version each of them was left at: their rows' SEQUENCE. */
  const lastVersion: Record<string, number> = {};

  const allRows = async () => {
    const rows = await Promise.all(TABLES.map(([table, key]) => t.rows(table, key)));
    return Object.fromEntries(TABLES.map(([table], index) => [table, rows[index]]));
  };
  const truncateAll = async () => {
    for (const [table] of TABLES) await t.truncate(table);
  };
  const endsOf = async (measureId: string): Promise<EndRow[]> =>
    t.dataSource.query('SELECT * FROM suspension_ends WHERE measure_id = $1', [measureId]);

  beforeAll(async () => {
    db = await createTestDatabase('proj_suspension_ends');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(SuspensionEndsProjection);
    queries = t.app.get(SuspensionEndQueries);
    await t.seed();

    // Extended twice, the second extension then found wrong: the end moves back.
    own.extended = (
      await t.measure(null, { action: 'record-measure', body: usTariff(`EXT-${uniqueSuffix()}`) })
    ).id;
    const scheduled = await t.measure(own.extended, {
      action: 'schedule-suspension',
      body: {
        startsAt: '2025-06-01T04:00:00Z',
        endsAt: '2026-06-01T04:00:00Z',
        part: { percentPoints: 20 },
        sources: [notice],
      },
    });
    own.extendedSuspension = scheduled.suspensionId ?? '';
    await t.measure(own.extended, {
      action: 'extend-suspension',
      suspensionId: own.extendedSuspension,
      body: {
        endsAt: '2031-01-15T05:00:00Z',
        effectiveAt: '2026-05-01T04:00:00Z',
        sources: [notice],
      },
    });
    const wrong = await t.measure(own.extended, {
      action: 'extend-suspension',
      suspensionId: own.extendedSuspension,
      body: {
        endsAt: '2032-01-15T05:00:00Z',
        effectiveAt: '2026-05-01T04:00:00Z',
        sources: [notice],
      },
    });
    lastVersion.extended = (
      await t.measure(own.extended, {
        action: 'retract-event',
        body: { eventId: wrong.eventIds[0], reason: 'Misread the order', sources: [notice] },
      })
    ).version;

    // Lifted early: the row stays, marked, and lists leave it out.
    own.lifted = (
      await t.measure(null, { action: 'record-measure', body: usTariff(`LIFT-${uniqueSuffix()}`) })
    ).id;
    own.liftedSuspension =
      (
        await t.measure(own.lifted, {
          action: 'schedule-suspension',
          body: {
            startsAt: '2025-06-01T04:00:00Z',
            endsAt: '2031-02-01T05:00:00Z',
            sources: [notice],
          },
        })
      ).suspensionId ?? '';
    await t.measure(own.lifted, {
      action: 'lift-suspension',
      suspensionId: own.liftedSuspension,
      body: { effectiveAt: '2025-09-01T04:00:00Z', sources: [notice] },
    });

    // A suspension whose scheduling was retracted, and a measure whose creation was.
    own.unscheduled = (
      await t.measure(null, { action: 'record-measure', body: usTariff(`UNSC-${uniqueSuffix()}`) })
    ).id;
    const unscheduled = await t.measure(own.unscheduled, {
      action: 'schedule-suspension',
      body: { startsAt: '2025-06-01T04:00:00Z', duration: 'P5Y', sources: [notice] },
    });
    own.unscheduledSuspension = unscheduled.suspensionId ?? '';
    lastVersion.unscheduled = (
      await t.measure(own.unscheduled, {
        action: 'retract-event',
        body: { eventId: unscheduled.eventIds[0], reason: 'Never signed', sources: [notice] },
      })
    ).version;
    const unmade = await t.measure(null, {
      action: 'record-measure',
      body: usTariff(`UNMADE-${uniqueSuffix()}`),
    });
    own.unmade = unmade.id;
    own.unmadeSuspension =
      (
        await t.measure(own.unmade, {
          action: 'schedule-suspension',
          body: { startsAt: '2025-06-01T04:00:00Z', duration: 'P5Y', sources: [notice] },
        })
      ).suspensionId ?? '';
    lastVersion.unmade = (
      await t.measure(own.unmade, {
        action: 'retract-event',
        body: { eventId: unmade.eventIds[0], reason: 'Never existed', sources: [notice] },
      })
    ).version;

    // A scheduling retracted, then that retraction found wrong: the suspension is back.
    own.revived = (
      await t.measure(null, { action: 'record-measure', body: usTariff(`REV-${uniqueSuffix()}`) })
    ).id;
    const revived = await t.measure(own.revived, {
      action: 'schedule-suspension',
      body: { startsAt: '2025-06-01T04:00:00Z', endsAt: '2031-03-01T05:00:00Z', sources: [notice] },
    });
    own.revivedSuspension = revived.suspensionId ?? '';
    const withdrawal = await t.measure(own.revived, {
      action: 'retract-event',
      body: { eventId: revived.eventIds[0], reason: 'Thought unsigned', sources: [notice] },
    });
    lastVersion.revived = (
      await t.measure(own.revived, {
        action: 'retract-event',
        body: { eventId: withdrawal.eventIds[0], reason: 'It was signed', sources: [notice] },
      })
    ).version;
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('keeps one row per suspension with its end after extensions, as the worker runs it', async () => {
    await truncateAll();
    const { runner, caughtUp } = await t.runner(projection);
    await caughtUp();
    await runner.stop();

    const reciprocal = await endsOf(t.datasetId('measure', 'US-RECIPROCAL-CN'));
    expect(reciprocal).toHaveLength(1);
    expect(reciprocal[0]).toMatchObject({
      suspension_id: t.datasetRef('us-reciprocal-cn-24pp'),
      measure_code: 'US-RECIPROCAL-CN',
      imposing_party: 'US',
      target_parties: ['CN'],
      state: 'active',
      part_points: '24',
      extensions: 2,
      agreement_id: t.datasetId('agreement', 'GENEVA-2025'),
    });
    expect(reciprocal[0].ends_at?.toISOString()).toBe('2026-11-10T05:01:00.000Z');

    // Suspensions that start with the US one (process manager) have their end once started.
    const portFees = await endsOf(t.datasetId('measure', 'CN-MOT-2025-54'));
    expect(portFees[0]).toMatchObject({ state: 'active' });
    expect(portFees[0].ends_at).not.toBeNull();

    const extended = await endsOf(own.extended);
    expect(extended).toHaveLength(1);
    expect(extended[0]).toMatchObject({ state: 'active', extensions: 1 });
    expect(extended[0].ends_at?.toISOString()).toBe('2031-01-15T05:00:00.000Z');
    // Its SEQUENCE is the measure's stream version: it grew with each event and never goes back,
    // however a rebuild counts the suspension's changes.
    expect(extended[0].sequence).toBe(lastVersion.extended);

    const lifted = await endsOf(own.lifted);
    expect(lifted).toHaveLength(1);
    expect(lifted[0]).toMatchObject({ state: 'lifted' });
    expect(lifted[0].lifted_at).toEqual(new Date('2025-09-01T04:00:00Z'));

    // A suspension that disappeared keeps its last row, marked, at the version that withdrew it:
    // the calendar cancels its event. Also when the retraction unmade the whole measure.
    const unscheduled = await endsOf(own.unscheduled);
    expect(unscheduled).toHaveLength(1);
    expect(unscheduled[0]).toMatchObject({
      suspension_id: own.unscheduledSuspension,
      state: 'retracted',
      sequence: lastVersion.unscheduled,
    });
    expect(unscheduled[0].ends_at?.toISOString()).toBe('2030-06-01T04:00:00.000Z');
    const unmade = await endsOf(own.unmade);
    expect(unmade).toHaveLength(1);
    expect(unmade[0]).toMatchObject({
      suspension_id: own.unmadeSuspension,
      state: 'retracted',
      sequence: lastVersion.unmade,
      measure_code: expect.stringMatching(/^UNMADE-/),
    });

    // Back again after the retraction of its retraction, at a higher SEQUENCE.
    const revived = await endsOf(own.revived);
    expect(revived).toHaveLength(1);
    expect(revived[0]).toMatchObject({
      suspension_id: own.revivedSuspension,
      state: 'active',
      sequence: lastVersion.revived,
    });
  });

  it('answers suspension ends in a window, soonest first, page by page', async () => {
    const november = await queries.list({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-12-01T00:00:00Z'),
      limit: 200,
    });
    const ends = november.items.map((item) => item.endsAt);
    expect(ends).toEqual([...ends].sort());
    expect(november.nextCursor).toBeNull();
    expect(november.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          suspensionId: t.datasetRef('us-reciprocal-cn-24pp'),
          endsAt: '2026-11-10T05:01:00.000Z',
          part: { percentPoints: 24 },
          agreement: { id: t.datasetId('agreement', 'GENEVA-2025'), code: 'GENEVA-2025' },
          measure: expect.objectContaining({ code: 'US-RECIPROCAL-CN', kind: 'tariff' }),
        }),
        expect.objectContaining({
          suspensionId: t.datasetRef('cn-mofcom-2024-46-clause-2-2025'),
          endsAt: '2026-11-26T16:00:00.000Z',
        }),
      ]),
    );

    const paged = [];
    let after: string | undefined;
    do {
      const page = await queries.list({
        from: new Date('2026-11-01T00:00:00Z'),
        to: new Date('2026-12-01T00:00:00Z'),
        after,
        limit: 3,
      });
      expect(page.items.length).toBeLessThanOrEqual(3);
      paged.push(...page.items);
      after = page.nextCursor ?? undefined;
    } while (after);
    expect(paged).toEqual(november.items);

    const later = await queries.list({ from: new Date('2030-01-01T00:00:00Z'), limit: 50 });
    const ids = later.items.map((item) => item.suspensionId);
    expect(ids).toContain(own.extendedSuspension);
    expect(ids).not.toContain(own.liftedSuspension);
    expect(ids).toContain(own.revivedSuspension);
    expect(ids).not.toContain(own.unscheduledSuspension);
    expect(ids).not.toContain(own.unmadeSuspension);
    const withCancelled = await queries.listWithCancelled({
      from: new Date('2030-01-01T00:00:00Z'),
      limit: 50,
    });
    const entryOf = (suspensionId: string) =>
      withCancelled.items.find((item) => item.suspensionId === suspensionId);
    expect(entryOf(own.liftedSuspension)).toEqual(
      expect.objectContaining({
        state: 'lifted',
        liftedAt: '2025-09-01T04:00:00.000Z',
        cancelled: { reason: 'lifted', at: '2025-09-01T04:00:00.000Z' },
      }),
    );
    expect(entryOf(own.unscheduledSuspension)?.cancelled).toEqual({
      reason: 'retracted',
      at: expect.any(String),
    });
    expect(entryOf(own.unmadeSuspension)?.cancelled?.reason).toBe('retracted');
    expect(entryOf(own.extendedSuspension)?.cancelled).toBeNull();
    expect(entryOf(own.revivedSuspension)?.cancelled).toBeNull();
  });

  it('changes nothing when batches it has applied are delivered again', async () => {
    await truncateAll();
    await t.projectPages(projection, 50);
    const once = await allRows();

    await t.projectPages(projection, 50);
    await t.projectPages(projection, 7);
    const events = await t.allEvents();
    await t.projectBatch(
      projection,
      events.flatMap((event) => [event, event]),
    );
    await t.projectBatch(projection, events.slice(-25));

    expect(await allRows()).toEqual(once);
  });

  it('gives the same rows for interleaved streams, whole-log batches and single events', async () => {
    const events = await t.allEvents();
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }

    await truncateAll();
    for (const streamEvents of [...byStream.values()].reverse()) {
      await t.projectBatch(projection, streamEvents);
    }
    const streamByStream = await allRows();
    expect(streamByStream.suspension_ends.length).toBeGreaterThan(15);

    await truncateAll();
    await t.projectBatch(projection, events);
    expect(await allRows()).toEqual(streamByStream);

    const queues = [...byStream.values()].reverse().map((streamEvents) => [...streamEvents]);
    const roundRobin: RecordedEvent[] = [];
    while (queues.some((queue) => queue.length)) {
      for (const queue of queues) {
        const next = queue.shift();
        if (next) roundRobin.push(next);
      }
    }
    await truncateAll();
    await t.projectBatch(projection, roundRobin);
    expect(await allRows()).toEqual(streamByStream);

    await truncateAll();
    await t.projectPages(projection, 1);
    expect(await allRows()).toEqual(streamByStream);
  });

  it('follows new facts batch by batch to the rows a rebuild in one pass makes', async () => {
    await truncateAll();
    const live = await t.runner(renamed(projection, `${SUSPENSION_ENDS_PROJECTION}:live`, 5));
    await live.caughtUp();
    const before = (await endsOf(own.extended))[0];

    await t.measure(own.extended, {
      action: 'extend-suspension',
      suspensionId: own.extendedSuspension,
      body: {
        endsAt: '2033-01-15T05:00:00Z',
        effectiveAt: '2026-05-01T04:00:00Z',
        sources: [notice],
      },
    });
    await live.caughtUp();
    await live.runner.stop();
    const after = (await endsOf(own.extended))[0];
    expect(after.ends_at?.toISOString()).toBe('2033-01-15T05:00:00.000Z');
    expect(after.sequence).toBeGreaterThan(before.sequence);
    expect(after.changed_at.getTime()).toBeGreaterThan(before.changed_at.getTime());
    const incrementally = await allRows();

    await truncateAll();
    const rebuild = await t.runner(
      renamed(projection, `${SUSPENSION_ENDS_PROJECTION}:rebuild`, 1e5),
    );
    await rebuild.caughtUp();
    await rebuild.runner.stop();
    expect(await allRows()).toEqual(incrementally);
  });
});
