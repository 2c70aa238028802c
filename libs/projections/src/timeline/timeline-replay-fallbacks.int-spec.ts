import { randomUUID } from 'node:crypto';
import { poolOf } from '@app/database';
import { eventStoreMigrations, type RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { ConditionalSuspensionStarter } from '@app/trade';
import { Client } from 'pg';
import { MeasureStatusProjection } from '../measure-status/measure-status.projection';
import { ProjectionRebuilder } from '../rebuild/projection-rebuilder';
import type { RebuildableProjection } from '../rebuild/rebuildable-projection';
import { SuspensionEndsProjection } from '../suspension-ends/suspension-ends.projection';
import { startProjectionTestApp, type ProjectionTestApp } from '../testing/projection-test-app';
import {
  amendRate,
  claim,
  fulfilledCommitment,
  notice,
  pause,
  recordTariff,
  recordedAtOf,
  retract,
  revoke,
  scheduleSuspension,
} from '../testing/test-writes';
import { TimelineQueries } from './timeline-queries';
import { TimelineProjection } from './timeline.projection';

/**
 * The timeline resumes a stream from its stored rows: from their spans of transaction time when
 * everything new was recorded after the stream's latest recording instant, and by inserting only
 * the new facts' rows when the earlier rows come out as stored. Every other case falls back to
 * asking the whole stream again and replacing its rows. Each test here drives one way into that
 * fall-back through the worker's path (batches of the log, in a transaction each) and then
 * rebuilds from position zero with `ProjectionRebuilder`: the rows and what `/api/v1/timeline`
 * answers (now and as known at every instant of the test's streams, with and without a party)
 * must not tell the two apart.
 *
 * One test guards a fix: "…a stream whose spans were written before they were kept exact" fails
 * if the first append to a stream with `spans_exact = false` inserts only its new rows instead of
 * replacing them all (`rowsOf` in timeline.projection.ts). The others characterise paths that
 * were already correct, so that a change to the resume rules that breaks one of them shows here.
 *
 * `suspension_ends` and `measure_status` follow the same batches: a retraction makes their
 * measure fold read the stream back and replay it (MeasureFold), the same fall-back on their
 * side, and their rows must match the rebuild too.
 */

const TABLES = [
  ['timeline_facts', 'event_id'],
  ['timeline_streams', 'stream_id'],
  ['suspension_ends', 'measure_id, suspension_id'],
  ['suspension_end_measures', 'measure_id'],
  ['measure_status', 'measure_id'],
] as const;

/** The test's facts take effect in 2024, away from the bundled dataset's. */
const WINDOW = { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2025-01-01T00:00:00Z') };
const PARTIES = [undefined, 'CN', 'HK', 'US'];

describe('Timeline falling back to a full replay of a stream, against a rebuild from zero', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let rebuilder: ProjectionRebuilder;
  let starter: ConditionalSuspensionStarter;
  let queries: TimelineQueries;
  let projections: RebuildableProjection[];
  /** The log position up to which the live tables hold every event. */
  let projectedUpTo = 0;
  let startedUpTo = 0;

  const eventsAfter = async (position: number) =>
    (await t.allEvents()).filter((event) => event.position > position);

  /**
   * Applies the events written since the last call, as the worker does: a transaction per batch,
   * in the batches `batchesOf` makes of them (all in one by default; they may repeat events).
   */
  async function follow(
    batchesOf: (events: RecordedEvent[]) => RecordedEvent[][] = (events) => [events],
  ): Promise<void> {
    const events = await eventsAfter(projectedUpTo);
    if (!events.length) return;
    for (const batch of batchesOf(events)) {
      // Each projection reads the log on its own, as the worker's runners do: no fold of a
      // measure event by one serves another (MeasureFold remembers them by event object).
      for (const projection of projections) {
        await t.projectBatch(
          projection,
          batch.map((event) => ({ ...event })),
        );
      }
    }
    projectedUpTo = events[events.length - 1].position;
  }

  /** Lets the conditional-suspension starter act on what was written, and on what it wrote. */
  async function startConditionalSuspensions(): Promise<void> {
    for (;;) {
      const events = await eventsAfter(startedUpTo);
      if (!events.length) return;
      await t.projectBatch(starter, events);
      startedUpTo = events[events.length - 1].position;
    }
  }

  /** Batches that begin at each of the given events. */
  const cutBefore =
    (...eventIds: string[]) =>
    (events: RecordedEvent[]): RecordedEvent[][] => {
      const batches: RecordedEvent[][] = [[]];
      for (const event of events) {
        if (eventIds.includes(event.eventId) && batches[batches.length - 1].length) {
          batches.push([]);
        }
        batches[batches.length - 1].push(event);
      }
      return batches;
    };
  const oneByOne = (events: RecordedEvent[]) => events.map((event) => [event]);

  const streamOf = (measureId: string) => `measure-${measureId}`;
  const eventsOf = (streamId: string) => t.store.readStream(streamId);
  const instantOf = async (measure: string, eventId: string) =>
    (await recordedAtOf(t, streamOf(measure), eventId)).getTime();
  /** An event of the measure's stream of the given type, to append copies of. */
  const templateOf = async (measure: string, type: string) => {
    const template = (await eventsOf(streamOf(measure))).find((event) => event.type === type);
    if (!template) throw new Error(`no ${type} in ${streamOf(measure)}`);
    return template;
  };

  /** Every page of the timeline for the window, as the controller asks for it. */
  async function timeline(party: string | undefined, knownAt: Date | undefined) {
    const items: unknown[] = [];
    let after: string | undefined;
    do {
      const page = await queries.list({ ...WINDOW, party, knownAt, after, limit: 50 });
      items.push(...page.items);
      after = page.nextCursor ?? undefined;
    } while (after);
    return items;
  }

  /**
   * What a reader sees: every row of the tables, and the timeline now and as known just before
   * and at each instant something was recorded on `streamIds`, for each party.
   */
  async function observe(streamIds: string[]) {
    const rows: Record<string, unknown[]> = {};
    for (const [table, key] of TABLES) rows[table] = await t.rows(table, key);
    const instants = new Set<number>();
    for (const streamId of streamIds) {
      for (const event of await eventsOf(streamId)) {
        instants.add(event.recordedAt.getTime() - 1);
        instants.add(event.recordedAt.getTime());
      }
    }
    const answers: Record<string, unknown[]> = {};
    for (const knownAt of [undefined, ...[...instants].sort((a, b) => a - b)]) {
      for (const party of PARTIES) {
        const asked = knownAt === undefined ? undefined : new Date(knownAt);
        answers[`${party ?? '*'}@${asked?.toISOString() ?? 'now'}`] = await timeline(party, asked);
      }
    }
    return { rows, answers };
  }

  /**
   * The live tables, as the batches left them, equal the tables rebuilt from position zero, and
   * the timeline answers alike. The rebuilt tables stay: the next test starts from them.
   */
  async function expectSameAsRebuild(streamIds: string[]) {
    const incremental = await observe(streamIds);
    await rebuilder.rebuild(projections);
    const rebuilt = await observe(streamIds);
    for (const table of Object.keys(rebuilt.rows)) {
      expect({ table, rows: incremental.rows[table] }).toEqual({
        table,
        rows: rebuilt.rows[table],
      });
    }
    expect(incremental.answers).toEqual(rebuilt.answers);
    return incremental;
  }

  /** Retracts an event of the measure, recorded at a later instant than what came before. */
  async function retractLater(measure: string, eventId: string) {
    await pause();
    return retract(t, { measure }, eventId);
  }

  /** A copy of an event of the stream, with its payload changed. */
  interface Copy {
    of: RecordedEvent;
    eventId?: string;
    change: (payload: Record<string, unknown>) => Record<string, unknown>;
  }

  /**
   * Appends copies of events to their stream, one append each, in one transaction: all are
   * recorded at the instant it began, as appends that land in the same millisecond are. With
   * `meanwhile`, that transaction begins before `meanwhile` writes: the copies come at later
   * versions but were recorded at an earlier instant, as when a write that began first commits
   * last.
   */
  async function appendInOneTransaction(
    copies: Copy[],
    meanwhile?: () => Promise<unknown>,
  ): Promise<RecordedEvent[]> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    const eventIds = copies.map((copy) => copy.eventId ?? randomUUID());
    try {
      await client.query('BEGIN');
      await client.query('SELECT now()');
      if (meanwhile) {
        await pause();
        await meanwhile();
        await pause();
      }
      for (const [index, { of, change }] of copies.entries()) {
        await client.query('SELECT accord_append($1, NULL, NULL, $2)', [
          of.streamId,
          JSON.stringify([
            {
              eventId: eventIds[index],
              type: of.type,
              schemaVersion: of.schemaVersion,
              payload: change(of.payload),
              metadata: of.metadata,
            },
          ]),
        ]);
      }
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    const stream = await eventsOf(copies[0].of.streamId);
    return eventIds.map((eventId) => {
      const appended = stream.find((event) => event.eventId === eventId);
      if (!appended) throw new Error(`${eventId} was not appended`);
      return appended;
    });
  }

  /**
   * Runs `work` with appends stamped as before AppendRecordsInStreamOrder1764990100000: with the
   * start of their transaction, even when that is before the stream's head. Appends no longer
   * record events out of order, but logs written before that migration hold such events, and the
   * projections (and a rebuild) still read them.
   */
  async function stampingAsBeforeRecordingOrder<T>(work: () => Promise<T>): Promise<T> {
    const recordingOrder = eventStoreMigrations
      .map((Migration) => new Migration())
      .find((migration) => migration.name === 'AppendRecordsInStreamOrder1764990100000');
    if (!recordingOrder) throw new Error('AppendRecordsInStreamOrder1764990100000 not found');
    const runner = t.dataSource.createQueryRunner();
    try {
      await recordingOrder.down(runner);
      return await work();
    } finally {
      await recordingOrder.up(runner);
      await runner.release();
    }
  }

  beforeAll(async () => {
    db = await createTestDatabase('proj_timeline_fallback');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    rebuilder = new ProjectionRebuilder(t.dataSource, t.store, poolOf(t.dataSource));
    starter = t.app.get(ConditionalSuspensionStarter);
    queries = t.app.get(TimelineQueries);
    projections = [
      t.app.get(TimelineProjection),
      t.app.get(SuspensionEndsProjection),
      t.app.get(MeasureStatusProjection),
    ];
    await t.seed();
    startedUpTo = await t.store.headPosition();
    await follow();
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('resumes without a fall-back through a batch cut inside an append and batches delivered twice', async () => {
    const measure = await recordTariff(t, 'TFCUT');
    const suspension = await scheduleSuspension(t, measure, {
      startsAt: '2024-06-01T04:00:00Z',
      duration: 'P1Y',
      part: { percentPoints: 4 },
    });
    await pause();
    await t.measure(measure, {
      action: 'extend-suspension',
      suspensionId: suspension.suspensionId ?? '',
      body: {
        endsAt: '2025-09-01T04:00:00Z',
        effectiveAt: '2024-09-01T04:00:00Z',
        sources: [notice],
      },
    });
    await claim(t, measure, 'The duty is unlawful');
    const [scheduled, started] = suspension.eventIds;

    // Scheduling and start were appended together; a batch ends between them. Then a crash
    // before the checkpoint: the batch comes again, cut elsewhere, and with every event twice.
    await follow((events) => {
      const [first, second] = cutBefore(started)(events);
      const at = second.findIndex((event) => event.eventId === started);
      return [
        first,
        second.slice(0, at + 2),
        [...first.slice(-1), ...second.slice(0, at + 1)],
        second.flatMap((event) => [event, event]),
        [...first, ...second],
      ];
    });
    expect(await instantOf(measure, started)).toBe(await instantOf(measure, scheduled));

    await expectSameAsRebuild([streamOf(measure)]);
  });

  it('matches a rebuild after the first retraction of a stream and after chains of them', async () => {
    const measure = await recordTariff(t, 'TFRET');
    const amendment = await amendRate(t, measure, 25, '2024-05-01T04:00:00Z');
    const suspension = await scheduleSuspension(t, measure, {
      startsAt: '2024-06-01T04:00:00Z',
      duration: 'P1Y',
      part: { percentPoints: 5 },
    });
    await follow();

    // The first retraction of the stream: its earlier rows hold no spans to resume from.
    const struck = await retractLater(measure, amendment);
    await follow();
    // A retraction of that retraction, and of that one: each resumes from the stored spans but
    // changes earlier rows, which are replaced.
    const revived = await retractLater(measure, struck);
    await follow();
    await retractLater(measure, revived);
    await follow();
    // The suspension's scheduling retracted: its start's summary loses the part it named.
    const unscheduled = await retractLater(measure, suspension.eventIds[0]);
    await claim(t, measure, 'Withdrawn after all');
    await retractLater(measure, unscheduled);
    // All three in one batch, and a measure whose creation is retracted and put back, one event
    // per batch.
    await follow();
    const creation = (await eventsOf(streamOf(measure)))[0].eventId;
    await retractLater(measure, await retractLater(measure, creation));
    await follow(oneByOne);

    // An agreement whose commitment is retracted after its status changed, and put back.
    const { agreement, commitment } = await fulfilledCommitment(
      t,
      'TF-AGR',
      '2024-04-01T00:00:00Z',
    );
    await follow();
    await pause();
    const retraction = await retract(t, { agreement }, commitment, 'Not agreed');
    await follow();
    await pause();
    await retract(t, { agreement }, retraction, 'Agreed after all');
    await follow();

    await expectSameAsRebuild([streamOf(measure), `agreement-${agreement}`]);
  });

  it('matches a rebuild when a batch resumes a stream with an event recorded at its latest instant', async () => {
    const measure = await recordTariff(t, 'TFSAME');
    const amendment = await amendRate(t, measure, 35, '2024-05-01T04:00:00Z');
    await retractLater(measure, amendment);
    await claim(t, measure, 'A claim');
    await follow();
    await pause();
    const suspension = await scheduleSuspension(t, measure, {
      startsAt: '2024-07-01T04:00:00Z',
      duration: 'P6M',
      part: { percentPoints: 3 },
    });
    const [scheduled, started] = suspension.eventIds;
    expect(await instantOf(measure, started)).toBe(await instantOf(measure, scheduled));

    // The start comes in a batch of its own, recorded at the instant the stored rows end at.
    await follow(cutBefore(started));

    // A claim, and its retraction appended in the same millisecond: the retraction comes in a
    // batch of its own, and strikes the claim from the instant the stored rows end at.
    const sameInstantClaim = randomUUID();
    const [claimCopy, retraction] = await appendInOneTransaction([
      {
        of: await templateOf(measure, 'PartyClaimRecorded'),
        eventId: sameInstantClaim,
        change: (payload) => ({ ...payload, claimId: randomUUID(), statement: 'Struck at once' }),
      },
      {
        of: await templateOf(measure, 'EventRetracted'),
        change: (payload) => ({ ...payload, eventId: sameInstantClaim }),
      },
    ]);
    expect(retraction.recordedAt).toEqual(claimCopy.recordedAt);
    await follow(cutBefore(retraction.eventId));

    await expectSameAsRebuild([streamOf(measure)]);
  });

  it('matches a rebuild when a batch brings events recorded before the stream’s latest instant', async () => {
    const measure = await recordTariff(t, 'TFLATE');
    const first = await amendRate(t, measure, 40, '2024-04-01T04:00:00Z');
    const second = await amendRate(t, measure, 50, '2024-05-01T04:00:00Z');
    await claim(t, measure, 'First claim');
    await retractLater(measure, first);
    await follow();

    /**
     * Appends a copy of the stream's first event of type `type` in a transaction that begins
     * before a claim is recorded (and projected) and commits after it: recorded earlier, at a
     * later version, as `accord_append` stamped it before AppendRecordsInStreamOrder (see
     * `stampingAsBeforeRecordingOrder`).
     */
    const appendLate = async (
      type: string,
      change: Copy['change'],
      meanwhileStatement: string,
    ): Promise<RecordedEvent> => {
      let meanwhile = '';
      const [late] = await appendInOneTransaction(
        [{ of: await templateOf(measure, type), change }],
        async () => {
          meanwhile = await claim(t, measure, meanwhileStatement);
          await follow();
        },
      );
      expect(late.recordedAt.getTime()).toBeLessThan(await instantOf(measure, meanwhile));
      await follow();
      return late;
    };

    const lateRetraction = await stampingAsBeforeRecordingOrder(async () => {
      // A retraction of the second amendment recorded late.
      const retraction = await appendLate(
        'EventRetracted',
        (payload) => ({ ...payload, eventId: second, reason: 'Recorded late' }),
        'Second claim',
      );
      // A claim recorded late in the same way, which changes no earlier row.
      await appendLate(
        'PartyClaimRecorded',
        (payload) => ({ ...payload, claimId: randomUUID(), statement: 'Recorded late' }),
        'Third claim',
      );
      return retraction;
    });
    // And, recorded after everything, a retraction of the late retraction: resumed from the
    // spans the fall-back stored.
    await retractLater(measure, lateRetraction.eventId);
    await follow();

    await expectSameAsRebuild([streamOf(measure)]);
  });

  it('matches a rebuild after the next append to a stream whose spans were written before they were kept exact', async () => {
    const measure = await recordTariff(t, 'TFOLD');
    const amendment = await amendRate(t, measure, 60, '2024-05-01T04:00:00Z');
    const struck = await retractLater(measure, amendment);
    await retractLater(measure, struck);
    await follow();
    const struckAt = await recordedAtOf(t, streamOf(measure), struck);
    // What an upgraded database holds: spans filled from the single retraction mark
    // (TimelineRetractedDuring1764910000000), wrong for a fact whose retraction was retracted,
    // and the stream not to be resumed from (TimelineExactSpans1764960003000).
    await t.dataSource.query(
      `UPDATE timeline_facts SET retracted_during = CASE WHEN retracted_at IS NULL THEN '{}'
              ELSE tstzmultirange(tstzrange(retracted_at, NULL)) END
        WHERE stream_id = $1`,
      [streamOf(measure)],
    );
    await t.dataSource.query(
      'UPDATE timeline_streams SET spans_exact = false WHERE stream_id = $1',
      [streamOf(measure)],
    );

    // An append that changes none of the earlier facts.
    await claim(t, measure, 'Nothing to do with the amendment');
    await follow();

    const { answers } = await expectSameAsRebuild([streamOf(measure)]);
    // As known between the retraction and its retraction, the amendment did not count.
    expect(answers[`*@${struckAt.toISOString()}`]).not.toContainEqual(
      expect.objectContaining({ eventId: amendment }),
    );
  });

  it('matches a rebuild along a conditional start, its trigger retracted and put back', async () => {
    const trigger = await recordTariff(t, 'TFTRG');
    const triggerSuspension = await scheduleSuspension(t, trigger, {
      startsAt: '2024-06-01T04:00:00Z',
      duration: 'P1Y',
    });
    const waiting = await recordTariff(t, 'TFWAIT', { imposingParty: 'CN', targetParties: ['US'] });
    await pause();
    // The trigger has started: the scheduling comes with its start, in one append.
    const conditional = await scheduleSuspension(t, waiting, {
      startsWhen: { measure: trigger, suspension: triggerSuspension.suspensionId ?? '' },
      duration: 'P1Y',
      part: { percentPoints: 2 },
    });
    expect(conditional.eventIds).toHaveLength(2);
    await startConditionalSuspensions();
    await follow(cutBefore(conditional.eventIds[1]));

    // The trigger's scheduling retracted: the starter retracts the start it caused…
    const unscheduled = await retractLater(trigger, triggerSuspension.eventIds[0]);
    await startConditionalSuspensions();
    await follow(oneByOne);
    // …and starts it again when that retraction is retracted.
    await retractLater(trigger, unscheduled);
    await startConditionalSuspensions();
    await follow();
    const starts = (await eventsOf(streamOf(waiting))).filter(
      (event) => event.type === 'SuspensionStarted',
    );
    expect(starts).toHaveLength(2);

    await expectSameAsRebuild([streamOf(trigger), streamOf(waiting)]);
  });

  it('matches a rebuild along a revocation brought forward, retracted and put back', async () => {
    const measure = await recordTariff(t, 'TFREV');
    const later = await revoke(t, measure, '2024-11-01T04:00:00Z');
    await follow();
    // Brought forward: the first revocation no longer says when the measure ends.
    const earlier = await revoke(t, measure, '2024-09-01T04:00:00Z');
    await follow();
    // An append after it, with no retraction in the stream: resumed from the stored spans.
    await claim(t, measure, 'Revoked too late');
    await follow();
    const unrevoked = await retractLater(measure, earlier);
    await follow();
    await retractLater(measure, unrevoked);
    await follow(oneByOne);

    const { answers } = await expectSameAsRebuild([streamOf(measure)]);
    const revocationsAt = (knownAt: number | undefined) =>
      (
        answers[`*@${knownAt === undefined ? 'now' : new Date(knownAt).toISOString()}`] as Array<{
          eventId: string;
          type: string;
        }>
      )
        .filter((item) => item.type === 'MeasureRevoked')
        .map((item) => item.eventId);
    expect(revocationsAt(await instantOf(measure, later))).toEqual([later]);
    expect(revocationsAt(await instantOf(measure, earlier))).toEqual([earlier]);
    expect(revocationsAt(await instantOf(measure, unrevoked))).toEqual([later]);
    expect(revocationsAt(undefined)).toEqual([earlier]);
  });

  it('matches a rebuild along a revocation recorded after facts dated past it, brought forward, retracted and put back', async () => {
    // Announced, to take effect in October: everything below but the claims, the lifting and
    // the first two starts is recorded before any revocation, for dates one reaches.
    const measure = await recordTariff(t, 'TFWDR', {
      announcedAt: '2024-02-01T05:00:00Z',
      effectiveAt: '2024-10-01T04:00:00Z',
    });
    const implemented = (await templateOf(measure, 'MeasureImplemented')).eventId;
    const lapsing = await scheduleSuspension(t, measure, {
      startsAt: '2024-04-01T04:00:00Z',
      endsAt: '2024-09-15T04:00:00Z',
      part: { percentPoints: 3 },
    });
    const lapse = (
      await t.measure(measure, {
        action: 'lapse-suspension',
        suspensionId: lapsing.suspensionId ?? '',
      })
    ).eventIds[0];
    const extended = await scheduleSuspension(t, measure, {
      startsAt: '2024-05-01T04:00:00Z',
      endsAt: '2025-03-01T05:00:00Z',
      part: { percentPoints: 2 },
    });
    const extension = (
      await t.measure(measure, {
        action: 'extend-suspension',
        suspensionId: extended.suspensionId ?? '',
        body: {
          endsAt: '2025-06-01T04:00:00Z',
          effectiveAt: '2024-10-15T04:00:00Z',
          sources: [notice],
        },
      })
    ).eventIds[0];
    // Decided in September, after either revocation's date, on a trigger started in May: the
    // decider judges it by that start, and takes it even once the measure is revoked.
    const conditional = await scheduleSuspension(t, measure, {
      startsWhen: { measure, suspension: extended.suspensionId ?? '' },
      duration: 'P1Y',
      part: { percentPoints: 1 },
      effectiveAt: '2024-09-15T04:00:00Z',
    });
    expect(conditional.eventIds).toHaveLength(2);
    const augustRate = await amendRate(t, measure, 11, '2024-08-01T04:00:00Z');
    const novemberRate = await amendRate(t, measure, 12, '2024-11-01T04:00:00Z');
    const exclusion = (
      await t.measure(measure, {
        action: 'grant-exclusion',
        body: {
          description: 'Spare parts',
          effectiveAt: '2024-10-05T04:00:00Z',
          sources: [notice],
        },
      })
    ).eventIds[0];
    const lifting = (
      await t.measure(measure, {
        action: 'lift-suspension',
        suspensionId: extended.suspensionId ?? '',
        body: { effectiveAt: '2024-12-01T05:00:00Z', sources: [notice] },
      })
    ).eventIds[0];
    await claim(t, measure, 'Announced unlawfully');
    await follow(cutBefore(conditional.eventIds[1]));

    const september = await revoke(t, measure, '2024-09-01T04:00:00Z');
    await follow();
    // An append after it, with no retraction in the stream: resumed from the stored spans.
    await claim(t, measure, 'Withdrawn too late');
    await follow();
    const july = await revoke(t, measure, '2024-07-01T04:00:00Z');
    await follow();
    const unrevoked = await retractLater(measure, july);
    await follow();
    const revoked = await retractLater(measure, unrevoked);
    await follow(oneByOne);

    const { answers } = await expectSameAsRebuild([streamOf(measure)]);
    const shownAt = (knownAt: number | undefined) =>
      new Set(
        (
          answers[`*@${knownAt === undefined ? 'now' : new Date(knownAt).toISOString()}`] as Array<{
            eventId: string;
            measure: { id: string } | null;
          }>
        )
          .filter((item) => item.measure?.id === measure)
          .map((item) => item.eventId),
      );
    const endedInSeptember = [lapse, implemented, exclusion, extension, novemberRate];
    const endedInJuly = [...endedInSeptember, augustRate, september];
    const kept = [lapsing.eventIds[1], extended.eventIds[1], ...conditional.eventIds, lifting];
    const expectShown = (knownAt: number | undefined, shown: string[], hidden: string[]): void => {
      const facts = shownAt(knownAt);
      expect({ knownAt, shown: shown.filter((id) => !facts.has(id)) }).toEqual({
        knownAt,
        shown: [],
      });
      expect({ knownAt, hidden: hidden.filter((id) => facts.has(id)) }).toEqual({
        knownAt,
        hidden: [],
      });
    };
    const septemberAt = await instantOf(measure, september);
    expectShown(septemberAt - 1, [...endedInJuly.slice(0, -1), ...kept], [september]);
    expectShown(septemberAt, [augustRate, september, ...kept], endedInSeptember);
    expectShown(await instantOf(measure, july), [july, ...kept], endedInJuly);
    expectShown(await instantOf(measure, unrevoked), [september, ...kept], endedInSeptember);
    expectShown(await instantOf(measure, revoked), [july, ...kept], endedInJuly);
    expectShown(undefined, [july, ...kept], endedInJuly);
  });

  it('matches a rebuild when amendments change the parties and summaries of earlier facts', async () => {
    // No rate when recorded: the fact of taking effect names the rate in force now.
    const measure = await recordTariff(t, 'TFSCOPE', { rate: undefined });
    await scheduleSuspension(t, measure, { startsAt: '2024-06-01T04:00:00Z', duration: 'P1Y' });
    await claim(t, measure, 'Before Hong Kong was in');
    await follow();
    await pause();
    const rate = await amendRate(t, measure, 15, '2024-03-01T05:00:00Z');
    await follow();
    await pause();
    // Back-dated before the suspension and the claim: they now concern Hong Kong too.
    const scope = (
      await t.measure(measure, {
        action: 'amend-measure',
        body: {
          scope: { inclusions: ['HK'] },
          effectiveAt: '2024-05-01T04:00:00Z',
          sources: [notice],
        },
      })
    ).eventIds[0];
    await follow();
    expect(
      (await timeline('HK', undefined)).some(
        (item) => (item as { measure?: { id: string } }).measure?.id === measure,
      ),
    ).toBe(true);
    await retractLater(measure, scope);
    await follow();
    await retractLater(measure, rate);
    await follow();

    await expectSameAsRebuild([streamOf(measure)]);
  });
});
