import type { RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import {
  renamed,
  startProjectionTestApp,
  type ProjectionTestApp,
} from '../testing/projection-test-app';
import {
  amendRate,
  fulfilledCommitment,
  notice,
  pause,
  recordTariff,
  recordedAtOf as recordedAtIn,
  retract,
  scheduleSuspension,
} from '../testing/test-writes';
import { TimelineQueries } from './timeline-queries';
import { TIMELINE_PROJECTION, TimelineProjection } from './timeline.projection';

const TABLES = [
  ['timeline_facts', 'event_id'],
  ['timeline_streams', 'stream_id'],
] as const;

interface FactRow {
  event_id: string;
  type: string;
  summary: string;
  retracted_by: string | null;
  retracted_at: Date | null;
  [column: string]: unknown;
}

describe('TimelineProjection on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: TimelineProjection;
  let queries: TimelineQueries;
  const own = {
    amended: '',
    wrongAmendment: '',
    amendmentRetraction: '',
    unscheduled: '',
    unscheduling: '',
    revived: '',
    revivedAmendment: '',
    japan: '',
    unmade: '',
    unmaking: '',
    agreement: '',
    statusChange: '',
    commitmentRetraction: '',
  };
  /**
   * Retractions of retractions, each recorded in a later millisecond, with an instant noted
   * between every two steps: `before` the first retraction, `after[i]` the i-th.
   */
  const chains = {
    amendment: '',
    suspensionStart: '',
    remadeFact: '',
    before: new Date(0),
    after: [] as Date[],
  };

  const allRows = async () => {
    const rows = await Promise.all(TABLES.map(([table, key]) => t.rows(table, key)));
    return Object.fromEntries(TABLES.map(([table], index) => [table, rows[index]]));
  };
  const truncateAll = async () => {
    for (const [table] of TABLES) await t.truncate(table);
  };
  const factsOf = async (streamId: string): Promise<FactRow[]> =>
    t.dataSource.query('SELECT * FROM timeline_facts WHERE stream_id = $1 ORDER BY version', [
      streamId,
    ]);
  const recordedAtOf = (streamId: string, eventId: string) => recordedAtIn(t, streamId, eventId);

  beforeAll(async () => {
    db = await createTestDatabase('proj_timeline');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(TimelineProjection);
    queries = t.app.get(TimelineQueries);
    await t.seed();

    // An amendment found wrong: struck from its retraction on.
    own.amended = await recordTariff(t, 'TLAM');
    own.wrongAmendment = await amendRate(t, own.amended, 50, '2024-05-01T04:00:00Z');
    // The retraction must fall in a later millisecond, or there is no moment at which the
    // amendment was known and not yet retracted.
    await pause();
    own.amendmentRetraction = await retract(
      t,
      { measure: own.amended },
      own.wrongAmendment,
      'Misread',
    );

    // A suspension whose scheduling was retracted: its start goes with it.
    own.unscheduled = await recordTariff(t, 'TLUS');
    const scheduled = await scheduleSuspension(t, own.unscheduled, {
      startsAt: '2024-06-01T04:00:00Z',
      duration: 'P1Y',
    });
    own.unscheduling = await retract(
      t,
      { measure: own.unscheduled },
      scheduled.eventIds[0],
      'Never signed',
    );

    // A retraction itself retracted: the amendment counts again.
    own.revived = await recordTariff(t, 'TLRV');
    own.revivedAmendment = await amendRate(t, own.revived, 25, '2024-05-01T04:00:00Z');
    await retract(
      t,
      { measure: own.revived },
      await retract(t, { measure: own.revived }, own.revivedAmendment, 'Thought wrong'),
      'It was right',
    );

    // A measure on another party, and one whose creation was retracted.
    own.japan = await recordTariff(t, 'TLJP', { targetParties: ['JP'] });
    own.unmade = await recordTariff(t, 'TLUM');
    await amendRate(t, own.unmade, 15, '2024-04-01T04:00:00Z');
    const creation = (await t.store.readStream(`measure-${own.unmade}`))[0];
    own.unmaking = await retract(t, { measure: own.unmade }, creation.eventId, 'Never existed');

    // An amendment retracted, that retraction retracted, and that one retracted in turn; a
    // suspension whose scheduling was retracted, then put back; a measure whose creation was
    // retracted, then put back.
    const chained = await recordTariff(t, 'TLCH');
    chains.amendment = await amendRate(t, chained, 40, '2024-07-01T04:00:00Z');
    const rescheduled = await recordTariff(t, 'TLRS');
    const suspension = await scheduleSuspension(t, rescheduled, {
      startsAt: '2024-08-01T04:00:00Z',
      duration: 'P1Y',
    });
    chains.suspensionStart = suspension.eventIds[1];
    const remade = await recordTariff(t, 'TLRM', { effectiveAt: '2024-09-01T04:00:00Z' });
    chains.remadeFact = await amendRate(t, remade, 20, '2024-10-01T04:00:00Z');
    const retractNoted = async (measure: string, eventId: string) => {
      await pause();
      const retraction = await retract(t, { measure }, eventId);
      await pause();
      chains.after.push(new Date());
      return retraction;
    };
    await pause();
    chains.before = new Date();
    const amendmentRetractions = [chains.amendment];
    for (let depth = 0; depth < 3; depth += 1) {
      amendmentRetractions.push(await retractNoted(chained, amendmentRetractions[depth]));
    }
    await retractNoted(rescheduled, await retractNoted(rescheduled, suspension.eventIds[0]));
    const remadeCreation = (await t.store.readStream(`measure-${remade}`))[0].eventId;
    await retractNoted(remade, await retractNoted(remade, remadeCreation));

    // An agreement whose commitment was retracted after its status changed.
    const commitment = await fulfilledCommitment(t, 'TL-AGR', '2024-03-01T00:00:00Z');
    own.agreement = commitment.agreement;
    own.statusChange = commitment.statusChange;
    own.commitmentRetraction = await retract(
      t,
      { agreement: own.agreement },
      commitment.commitment,
      'Not agreed',
    );
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('records one row per fact at its effective date, as the worker runs it', async () => {
    await truncateAll();
    const { runner, caughtUp } = await t.runner(projection);
    await caughtUp();
    await runner.stop();

    const portFeesStream = `measure-${t.datasetId('measure', 'CN-MOT-2025-54')}`;
    const portFees = await factsOf(portFeesStream);
    const started = portFees.find((row) => row.type === 'SuspensionStarted');
    expect(started).toMatchObject({
      code: 'CN-MOT-2025-54',
      imposing_party: 'CN',
      parties: ['CN', 'US'],
      agreement_id: t.datasetId('agreement', 'KL-2025'),
      subject_id: t.datasetRef('cn-mot-2025-54-kl'),
      retracted_by: null,
    });
    expect(started?.effective_at).toEqual(new Date('2025-11-10T05:01:00Z'));
    expect(started?.summary).toBe('CN-MOT-2025-54: measure suspended until 2026-11-10');
    // Its scheduling waited for the US suspension: it is on the timeline as such.
    expect(portFees.map((row) => row.type)).toContain('SuspensionScheduled');

    const reciprocal = await factsOf(`measure-${t.datasetId('measure', 'US-RECIPROCAL-CN')}`);
    expect(reciprocal.map((row) => row.summary)).toEqual(
      expect.arrayContaining([
        // The rate of the day it took effect (the 10% baseline), not the rate as amended since.
        'US-RECIPROCAL-CN takes effect at 10%',
        'US-RECIPROCAL-CN: rate set to 125%',
        'US-RECIPROCAL-CN: 24 points suspended until 2025-08-12',
        'US-RECIPROCAL-CN: suspension of 24 points extended to 2026-11-10',
      ]),
    );
    // A suspension with a fixed start appears once, as started.
    expect(reciprocal.filter((row) => row.type === 'SuspensionScheduled')).toEqual([]);

    const kl = await factsOf(`agreement-${t.datasetId('agreement', 'KL-2025')}`);
    expect(kl[0]).toMatchObject({ type: 'AgreementConcluded', measure_id: null, code: 'KL-2025' });
  });

  it('strikes retracted facts, and the facts that hung on them, from the retraction on', async () => {
    const amended = await factsOf(`measure-${own.amended}`);
    expect(amended.map((row) => row.type)).toEqual(['MeasureImplemented', 'MeasureRateAmended']);
    expect(amended[1]).toMatchObject({
      event_id: own.wrongAmendment,
      retracted_by: own.amendmentRetraction,
    });
    expect(amended[1].retracted_at).toEqual(
      await recordedAtOf(`measure-${own.amended}`, own.amendmentRetraction),
    );
    expect(amended[0].retracted_by).toBeNull();

    const unscheduled = await factsOf(`measure-${own.unscheduled}`);
    expect(unscheduled.find((row) => row.type === 'SuspensionStarted')).toMatchObject({
      retracted_by: own.unscheduling,
    });

    const revived = await factsOf(`measure-${own.revived}`);
    expect(revived.find((row) => row.event_id === own.revivedAmendment)).toMatchObject({
      retracted_by: null,
    });

    const unmade = await factsOf(`measure-${own.unmade}`);
    expect(unmade).toHaveLength(2);
    for (const row of unmade) expect(row.retracted_by).toBe(own.unmaking);

    const agreement = await factsOf(`agreement-${own.agreement}`);
    expect(agreement.map((row) => [row.type, row.retracted_by])).toEqual([
      ['AgreementConcluded', null],
      ['CommitmentRecorded', own.commitmentRetraction],
      ['CommitmentStatusChanged', own.commitmentRetraction],
    ]);
  });

  it('answers a window and a party in order of effective date, now or as known then', async () => {
    const window = {
      from: new Date('2024-01-01T00:00:00Z'),
      to: new Date('2025-01-01T00:00:00Z'),
      limit: 200,
    };
    const now = await queries.list(window);
    const eventIds = now.items.map((item) => item.eventId);
    const dates = now.items.map((item) => item.effectiveAt);
    expect(dates).toEqual([...dates].sort());
    expect(eventIds).not.toContain(own.wrongAmendment);
    expect(eventIds).toContain(own.revivedAmendment);
    expect(eventIds).not.toContain(own.statusChange);

    // Before the retraction was recorded, the amendment counted, and nothing on the page tells
    // of the retraction recorded later.
    const knownAt = await recordedAtOf(`measure-${own.amended}`, own.wrongAmendment);
    const then = await queries.list({ ...window, knownAt });
    const amendment = then.items.find((item) => item.eventId === own.wrongAmendment);
    expect(amendment).toMatchObject({ summary: expect.stringContaining('rate set to 50%') });
    expect(JSON.stringify(amendment)).not.toContain(own.amendmentRetraction);
    expect(then.items.every((item) => new Date(item.recordedAt) <= knownAt)).toBe(true);

    const china = await queries.list({ ...window, party: 'CN' });
    expect(china.items.every((item) => item.parties.includes('CN'))).toBe(true);
    expect(china.items.some((item) => item.measure?.id === own.japan)).toBe(false);
    const japan = await queries.list({ ...window, party: 'JP' });
    expect(japan.items.map((item) => item.measure?.id)).toEqual([own.japan]);

    const november = await queries.list({
      from: new Date('2025-11-01T00:00:00Z'),
      to: new Date('2025-12-01T00:00:00Z'),
      party: 'CN',
      limit: 200,
    });
    expect(november.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'SuspensionStarted',
          effectiveAt: '2025-11-10T05:01:00.000Z',
          measure: expect.objectContaining({ code: 'CN-MOT-2025-54' }),
          agreement: { id: t.datasetId('agreement', 'KL-2025'), code: 'KL-2025' },
        }),
      ]),
    );
    const paged = [];
    let after: string | undefined;
    do {
      const page = await queries.list({
        from: new Date('2025-11-01T00:00:00Z'),
        to: new Date('2025-12-01T00:00:00Z'),
        party: 'CN',
        after,
        limit: 7,
      });
      paged.push(...page.items);
      after = page.nextCursor ?? undefined;
    } while (after);
    expect(paged).toEqual(november.items);
  });

  it('shows a fact as known at any time along a chain of retractions of retractions', async () => {
    await truncateAll();
    await t.projectPages(projection, 1000);
    const window = {
      from: new Date('2024-01-01T00:00:00Z'),
      to: new Date('2025-01-01T00:00:00Z'),
      limit: 200,
    };
    const shownAt = async (knownAt?: Date) => {
      const page = await queries.list({ ...window, knownAt });
      const ids = new Set(page.items.map((item) => item.eventId));
      return {
        amendment: ids.has(chains.amendment),
        suspensionStart: ids.has(chains.suspensionStart),
        remadeFact: ids.has(chains.remadeFact),
      };
    };
    const [r1, r2, r3, u1, u2, c1, c2] = chains.after;
    // The amendment: struck by the first retraction, back with the second, struck by the third.
    expect((await shownAt(chains.before)).amendment).toBe(true);
    expect((await shownAt(r1)).amendment).toBe(false);
    expect((await shownAt(r2)).amendment).toBe(true);
    expect((await shownAt(r3)).amendment).toBe(false);
    expect((await shownAt()).amendment).toBe(false);
    // A suspension's start goes with its scheduling, and comes back with it.
    expect((await shownAt(r3)).suspensionStart).toBe(true);
    expect((await shownAt(u1)).suspensionStart).toBe(false);
    expect((await shownAt(u2)).suspensionStart).toBe(true);
    expect((await shownAt()).suspensionStart).toBe(true);
    // A measure's other facts go with its creation, and come back with it.
    expect((await shownAt(u2)).remadeFact).toBe(true);
    expect((await shownAt(c1)).remadeFact).toBe(false);
    expect((await shownAt(c2)).remadeFact).toBe(true);
    expect((await shownAt()).remadeFact).toBe(true);
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
    const live = await t.runner(renamed(projection, `${TIMELINE_PROJECTION}:live`, 5));
    await live.caughtUp();
    const late = await t.measure(own.japan, {
      action: 'revoke-measure',
      body: { effectiveAt: '2024-09-01T04:00:00Z', sources: [notice] },
    });
    await live.caughtUp();
    await live.runner.stop();
    const japan = await factsOf(`measure-${own.japan}`);
    expect(japan.at(-1)).toMatchObject({ event_id: late.eventIds[0], type: 'MeasureRevoked' });
    const incrementally = await allRows();

    await truncateAll();
    const rebuild = await t.runner(renamed(projection, `${TIMELINE_PROJECTION}:rebuild`, 1e5));
    await rebuild.caughtUp();
    await rebuild.runner.stop();
    expect(await allRows()).toEqual(incrementally);
  });

  /** A measure whose rate amendment was retracted, projected from scratch. */
  async function struckAmendment(prefix: string) {
    const measure = await recordTariff(t, prefix);
    const amendment = await amendRate(t, measure, 30, '2024-06-01T04:00:00Z');
    const retraction = await retract(t, { measure }, amendment);
    await truncateAll();
    await t.projectPages(projection, 1000);
    return { measure, amendment, retraction, streamId: `measure-${measure}` };
  }

  it('asks a stream again only as known at the instants of what is appended to it', async () => {
    const { measure, amendment, retraction, streamId } = await struckAmendment('TLIN');
    const spansOf = async () =>
      (
        await t.dataSource.query<Array<{ spans: string }>>(
          `SELECT (SELECT json_agg(json_build_array(lower(r), upper(r)) ORDER BY lower(r))
                     FROM unnest(retracted_during) r)::text AS spans
             FROM timeline_facts WHERE event_id = $1`,
          [amendment],
        )
      )[0].spans;
    const struckAt = await recordedAtOf(streamId, retraction);
    expect(JSON.parse(await spansOf())).toEqual([[expect.any(String), null]]);
    // What the rows say of the instants already asked about is taken as it is: marked here by
    // an earlier start than the retraction's, which no instant of the stream could give.
    const marked = new Date(struckAt.getTime() - 3_600_000).toISOString();
    await t.dataSource.query(
      `UPDATE timeline_facts SET retracted_during = tstzmultirange(tstzrange($2, NULL))
        WHERE event_id = $1`,
      [amendment, marked],
    );

    const revival = await retract(t, { measure }, retraction, 'It was right');
    const events = await t.store.readStream(streamId);
    await t.projectBatch(projection, events.slice(-1));
    const revivedAt = await recordedAtOf(streamId, revival);
    const spans = JSON.parse(await spansOf()) as Array<[string, string]>;
    expect(spans.map(([from, until]) => [Date.parse(from), Date.parse(until)])).toEqual([
      [Date.parse(marked), revivedAt.getTime()],
    ]);
  });

  it('asks a stream written before the spans were kept exact again in full, once', async () => {
    const { measure, amendment, retraction, streamId } = await struckAmendment('TLEX');
    const struckAt = await recordedAtOf(streamId, retraction);
    // A span as an upgraded database may hold it (approximate), on a stream not yet marked exact.
    const wrong = new Date(struckAt.getTime() - 3_600_000).toISOString();
    await t.dataSource.query(
      `UPDATE timeline_facts SET retracted_during = tstzmultirange(tstzrange($2, NULL))
        WHERE event_id = $1`,
      [amendment, wrong],
    );
    await t.dataSource.query(
      'UPDATE timeline_streams SET spans_exact = false WHERE stream_id = $1',
      [streamId],
    );

    const revival = await retract(t, { measure }, retraction, 'It was right');
    await t.projectBatch(projection, (await t.store.readStream(streamId)).slice(-1));

    const revivedAt = await recordedAtOf(streamId, revival);
    const [row] = await t.dataSource.query<Array<{ spans: string; exact: boolean }>>(
      `SELECT (SELECT json_agg(json_build_array(lower(r), upper(r)) ORDER BY lower(r))
                 FROM unnest(f.retracted_during) r)::text AS spans, s.spans_exact AS exact
         FROM timeline_facts f JOIN timeline_streams s USING (stream_id)
        WHERE f.event_id = $1`,
      [amendment],
    );
    const spans = JSON.parse(row.spans) as Array<[string, string]>;
    // Recomputed from the stream: struck from the retraction's recording, not the wrong start.
    expect(spans.map(([from, until]) => [Date.parse(from), Date.parse(until)])).toEqual([
      [struckAt.getTime(), revivedAt.getTime()],
    ]);
    expect(row.exact).toBe(true);
  });
});
