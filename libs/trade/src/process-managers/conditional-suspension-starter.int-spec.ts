import { randomUUID } from 'node:crypto';
import { measureDecider, type MeasureCommand } from '@app/domain';
import { SubscriptionRunner, type RecordedEvent } from '@app/event-store';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import {
  EDITOR,
  cnCountermeasure,
  mofcom,
  startTradeTestApp,
  uniqueCode,
  usTariff,
  whiteHouse,
  type TradeTestApp,
} from '../testing/trade-test-app';
import { measureStreamId } from '../trade.streams';
import { AggregateWriter } from '../write/aggregate-writer';
import { ConditionalSuspensionStarter } from './conditional-suspension-starter';

/** When the US Section 301 maritime suspension took effect: 2025-11-10 00:01 EST. */
const TAKES_EFFECT = '2025-11-10T05:01:00.000Z';
/** One year later on Beijing's clock (no daylight saving there): 2026-11-10 13:01 CST. */
const ONE_YEAR_LATER = '2026-11-10T05:01:00.000Z';

class CrashBeforeCheckpoint extends Error {}

describe('ConditionalSuspensionStarter on PostgreSQL', () => {
  let db: TestDatabase;
  let t: TradeTestApp;
  let starter: ConditionalSuspensionStarter;

  beforeAll(async () => {
    db = await createTestDatabase('trade_conditional');
    process.env.DATABASE_URL = db.url;
    t = await startTradeTestApp(db);
    starter = t.app.get(ConditionalSuspensionStarter);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  interface Trigger {
    measureId: string;
    code: string;
    suspensionId: string;
  }

  /**
   * US measure M with suspension S whose start is not known yet. The write side cannot record
   * such a root: a suspension either starts when it is scheduled (a fixed start, or a trigger
   * that has already started) or waits for a suspension that itself waits. So S is given as a
   * stored fact, the way the domain's own tests give it: scheduled, with no start yet.
   */
  async function usMeasureWithWaitingSuspension(): Promise<Trigger> {
    const code = uniqueCode('US-301-MARITIME');
    const recorded = await t.measure(null, {
      action: 'record-measure',
      body: usTariff({ code, title: 'Section 301 actions on maritime logistics' }),
    });
    const suspensionId = randomUUID();
    await t.store.append(
      measureStreamId(recorded.id),
      [
        {
          type: 'SuspensionScheduled',
          payload: {
            suspensionId,
            duration: 'P1Y',
            reinstatesAutomatically: true,
            effectiveAt: '2025-11-01T00:00:00.000Z',
            sources: [whiteHouse],
          },
          metadata: { actor: EDITOR, sources: [whiteHouse] },
        },
      ],
      { expectedVersion: recorded.version },
    );
    return { measureId: recorded.id, code, suspensionId };
  }

  async function cnMeasure(): Promise<{ measureId: string; code: string }> {
    const code = uniqueCode('CN-PORT-FEES');
    const { id } = await t.measure(null, {
      action: 'record-measure',
      body: cnCountermeasure({ code, kind: 'port-fee', title: 'Special port fees on US vessels' }),
    });
    return { measureId: id, code };
  }

  /** "China's suspension starts once the US suspension takes effect." */
  async function scheduleWaitingOn(measure: string, trigger: { code: string; suspension: string }) {
    return t.measure(measure, {
      action: 'schedule-suspension',
      body: {
        startsWhen: { measure: trigger.code, suspension: trigger.suspension },
        duration: 'P1Y',
        sources: [mofcom],
      },
    });
  }

  /** The trigger takes effect: started by hand, as an editor would record it. */
  function startByHand(trigger: Trigger, startsAt = TAKES_EFFECT) {
    return t.measure(trigger.code, {
      action: 'start-suspension',
      suspensionId: trigger.suspensionId,
      startsAt,
      sources: [whiteHouse],
    });
  }

  async function startsOf(measureId: string, suspensionId: string): Promise<RecordedEvent[]> {
    return (await t.measureEvents(measureId)).filter(
      (e) => e.type === 'SuspensionStarted' && e.payload.suspensionId === suspensionId,
    );
  }

  async function waitsFor(measureId: string): Promise<number> {
    const rows: { n: string }[] = await t.dataSource.query(
      'SELECT count(*) AS n FROM suspension_waits WHERE measure_id = $1',
      [measureId],
    );
    return Number(rows[0].n);
  }

  describe('driven by a SubscriptionRunner', () => {
    let runner: SubscriptionRunner;

    beforeAll(() => {
      runner = new SubscriptionRunner(starter, t.store, t.dataSource, {
        databaseUrl: db.url,
        pollIntervalMs: 50,
        standbyRetryMs: 50,
        errorBackoffMs: 50,
      });
      runner.start();
    });
    afterAll(async () => {
      await runner.stop();
    });

    async function caughtUp(): Promise<void> {
      const head = await t.store.headPosition();
      await eventually(() => expect(runner.status().checkpoint).toBeGreaterThanOrEqual(head));
      expect(runner.status().lastError).toBeNull();
    }

    it('starts a waiting suspension at the instant its trigger takes effect, as system', async () => {
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const waiting = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      const suspensionId = waiting.suspensionId as string;

      expect(waiting.eventIds).toHaveLength(1);
      expect((await t.measureEvents(cn.measureId)).at(-1)?.payload).toMatchObject({
        suspensionId,
        startsWhen: { measure: us.measureId, suspension: us.suspensionId },
        duration: 'P1Y',
      });
      await caughtUp();
      expect(await startsOf(cn.measureId, suspensionId)).toEqual([]);

      const trigger = await startByHand(us);

      const [started] = await eventually(async () => {
        const starts = await startsOf(cn.measureId, suspensionId);
        expect(starts).toHaveLength(1);
        return starts;
      });
      expect(started).toMatchObject({
        payload: {
          suspensionId,
          startsAt: TAKES_EFFECT,
          endsAt: ONE_YEAR_LATER,
          effectiveAt: TAKES_EFFECT,
        },
        metadata: {
          actor: 'system',
          causationId: trigger.eventIds[0],
          commandId: `start-suspension:${cn.measureId}:${suspensionId}:${trigger.eventIds[0]}`,
        },
      });
      const [triggerStart] = await startsOf(us.measureId, us.suspensionId).then((s) => s.slice(-1));
      expect(triggerStart.payload.startsAt).toBe(started.payload.startsAt);
      expect(triggerStart.metadata.actor).toBe(EDITOR);

      await caughtUp();
      expect(await startsOf(cn.measureId, suspensionId)).toHaveLength(1);
    });

    it('retracts the start it made when the trigger’s start is retracted, and starts again on a new one', async () => {
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const waiting = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      const suspensionId = waiting.suspensionId as string;
      const trigger = await startByHand(us);
      const [started] = await eventually(async () => {
        const starts = await startsOf(cn.measureId, suspensionId);
        expect(starts).toHaveLength(1);
        return starts;
      });

      // The US start was misread: retracted by hand. China's start, made because of it, goes too.
      const retraction = await t.measure(us.code, {
        action: 'retract-event',
        body: { eventId: trigger.eventIds[0], reason: 'Misread date', sources: [whiteHouse] },
      });
      const undone = await eventually(async () => {
        const last = (await t.measureEvents(cn.measureId)).at(-1);
        expect(last?.type).toBe('EventRetracted');
        return last!;
      });
      expect(undone).toMatchObject({
        payload: { eventId: started.eventId },
        metadata: { actor: 'system', causationId: retraction.eventIds[0] },
      });
      await caughtUp();

      // The retraction was itself wrong: retracting it revives the US start, and China's with it.
      const revival = await t.measure(us.code, {
        action: 'retract-event',
        body: {
          eventId: retraction.eventIds[0],
          reason: 'The date was right',
          sources: [whiteHouse],
        },
      });
      const revived = await eventually(async () => {
        const starts = await startsOf(cn.measureId, suspensionId);
        expect(starts).toHaveLength(2);
        return starts[1];
      });
      expect(revived).toMatchObject({
        payload: { suspensionId, startsAt: TAKES_EFFECT },
        metadata: { actor: 'system', causationId: revival.eventIds[0] },
      });
      await caughtUp();
      // Retracted once more: China's revived start goes again.
      await t.measure(us.code, {
        action: 'retract-event',
        body: {
          eventId: trigger.eventIds[0],
          reason: 'Misread date after all',
          sources: [whiteHouse],
        },
      });
      await eventually(async () => {
        const last = (await t.measureEvents(cn.measureId)).at(-1);
        expect(last).toMatchObject({
          type: 'EventRetracted',
          payload: { eventId: revived.eventId },
        });
      });
      await caughtUp();

      // The US suspension takes effect after all, a week later: China's starts with it again.
      const later = '2025-11-17T05:01:00.000Z';
      const again = await startByHand(us, later);
      const restarted = await eventually(async () => {
        const starts = await startsOf(cn.measureId, suspensionId);
        expect(starts).toHaveLength(3);
        return starts[2];
      });
      expect(restarted).toMatchObject({
        payload: { suspensionId, startsAt: later },
        metadata: { actor: 'system', causationId: again.eventIds[0] },
      });
      await caughtUp();
    });

    it('retracts the start it made when the trigger suspension itself is retracted', async () => {
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const waiting = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      const suspensionId = waiting.suspensionId as string;
      await startByHand(us);
      const [started] = await eventually(async () => {
        const starts = await startsOf(cn.measureId, suspensionId);
        expect(starts).toHaveLength(1);
        return starts;
      });
      const scheduled = (await t.measureEvents(us.measureId)).find(
        (e) => e.type === 'SuspensionScheduled',
      )!;
      await t.measure(us.code, {
        action: 'retract-event',
        body: { eventId: scheduled.eventId, reason: 'Never decided', sources: [whiteHouse] },
      });
      const undone = await eventually(async () => {
        const last = (await t.measureEvents(cn.measureId)).at(-1);
        expect(last?.type).toBe('EventRetracted');
        return last!;
      });
      expect(undone).toMatchObject({ payload: { eventId: started.eventId } });
      await caughtUp();
    });

    it('follows a chain: a suspension waiting on one the manager starts is started too', async () => {
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const first = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      const other = await cnMeasure();
      const second = await scheduleWaitingOn(other.code, {
        code: cn.code,
        suspension: first.suspensionId as string,
      });

      await startByHand(us);

      const [started] = await eventually(async () => {
        const starts = await startsOf(other.measureId, second.suspensionId as string);
        expect(starts).toHaveLength(1);
        return starts;
      });
      expect(started.payload).toMatchObject({ startsAt: TAKES_EFFECT, endsAt: ONE_YEAR_LATER });
      expect(started.metadata.actor).toBe('system');
      expect(await startsOf(cn.measureId, first.suspensionId as string)).toHaveLength(1);
    });

    it('starts a waiting suspension when its measure was announced, if the trigger took effect before', async () => {
      const us = await usMeasureWithWaitingSuspension();
      // China's port fees, in force from 14 October (no earlier announcement on record).
      const code = uniqueCode('CN-PORT-FEES');
      const cn = await t.measure(null, {
        action: 'record-measure',
        body: cnCountermeasure({
          code,
          kind: 'port-fee',
          effectiveAt: '2025-10-14T00:00:00Z',
          rate: { type: 'specific', amount: 400, currency: 'CNY', unit: 'net ton' },
        }),
      });
      const waiting = await scheduleWaitingOn(code, { code: us.code, suspension: us.suspensionId });
      const suspensionId = waiting.suspensionId as string;

      // The US start is recorded set back to 1 October, before China's fees existed: nothing
      // could be suspended before 14 October, so that is when China's suspension starts (the
      // rule the api applies when a suspension is scheduled after its trigger started).
      await startByHand(us, '2025-10-01T04:00:00.000Z');

      const [started] = await eventually(async () => {
        const starts = await startsOf(cn.id, suspensionId);
        expect(starts).toHaveLength(1);
        return starts;
      });
      expect(started).toMatchObject({
        payload: {
          suspensionId,
          startsAt: '2025-10-14T00:00:00.000Z',
          endsAt: '2026-10-14T00:00:00.000Z',
          effectiveAt: '2025-10-14T00:00:00.000Z',
        },
        metadata: { actor: 'system' },
      });
      await caughtUp();
    });

    it('leaves waiting, and moves past, a start its measure refuses (revoked meanwhile)', async () => {
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const waiting = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      await t.measure(cn.code, {
        action: 'revoke-measure',
        body: { effectiveAt: '2025-10-01T00:00:00Z', sources: [mofcom] },
      });
      // A second waiter, whose measure takes the start: it is started past the refused one.
      const other = await cnMeasure();
      const second = await scheduleWaitingOn(other.code, {
        code: us.code,
        suspension: us.suspensionId,
      });

      await startByHand(us);

      await eventually(async () => {
        expect(await startsOf(other.measureId, second.suspensionId as string)).toHaveLength(1);
      });
      // A refusal is the same on every retry: the batch is not failed over it (no lastError),
      // and the checkpoint moves on.
      await caughtUp();
      expect(await startsOf(cn.measureId, waiting.suspensionId as string)).toEqual([]);
    });

    it('starts a suspension at once when its trigger had already started when it was scheduled', async () => {
      const usCode = uniqueCode('US-301-MARITIME');
      const us = await t.measure(null, {
        action: 'record-measure',
        body: usTariff({ code: usCode }),
      });
      const trigger = await t.measure(usCode, {
        action: 'schedule-suspension',
        body: { startsAt: TAKES_EFFECT, duration: 'P1Y', sources: [whiteHouse] },
      });
      const cn = await cnMeasure();

      const result = await scheduleWaitingOn(cn.code, {
        code: usCode,
        suspension: trigger.suspensionId as string,
      });

      expect(result.eventIds).toHaveLength(2);
      const [scheduled, started] = (await t.measureEvents(cn.measureId)).slice(-2);
      expect(scheduled).toMatchObject({
        type: 'SuspensionScheduled',
        payload: {
          suspensionId: result.suspensionId,
          startsWhen: { measure: us.id, suspension: trigger.suspensionId },
        },
      });
      expect(started).toMatchObject({
        type: 'SuspensionStarted',
        version: result.version,
        payload: {
          suspensionId: result.suspensionId,
          startsAt: TAKES_EFFECT,
          endsAt: ONE_YEAR_LATER,
        },
        metadata: { actor: EDITOR },
      });
      // The manager, seeing the same facts, adds nothing.
      await caughtUp();
      expect(await startsOf(cn.measureId, result.suspensionId as string)).toHaveLength(1);

      // That start came from the trigger's as much as one the manager makes: retracting the
      // trigger (three retractions deep: retracted, revived, retracted again) undoes it.
      const retract = (eventId: string, reason: string) =>
        t.measure(usCode, {
          action: 'retract-event',
          body: { eventId, reason, sources: [whiteHouse] },
        });
      const undone = (startEventId: string) =>
        eventually(async () => {
          const last = (await t.measureEvents(cn.measureId)).at(-1);
          expect(last).toMatchObject({
            type: 'EventRetracted',
            payload: { eventId: startEventId },
            metadata: { actor: 'system' },
          });
        });
      const [triggerScheduled] = trigger.eventIds;
      const first = await retract(triggerScheduled, 'Never decided');
      await undone(started.eventId);
      const revived = await retract(first.eventIds[0], 'It was decided');
      const again = await eventually(async () => {
        const starts = await startsOf(cn.measureId, result.suspensionId as string);
        expect(starts).toHaveLength(2);
        return starts[1];
      });
      await retract(revived.eventIds[0], 'Not decided after all');
      await undone(again.eventId);
      await caughtUp();
    });
  });

  describe('handling a batch directly, as the runner does', () => {
    it('appends nothing new when the batch is replayed after a crash before the checkpoint', async () => {
      const before = await t.store.headPosition();
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const { suspensionId } = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      await startByHand(us);
      const { events } = await t.store.readAll(before, 1000);
      expect(events.map((e) => e.type)).toContain('SuspensionStarted');

      // The runner's transaction: the start is appended (on its own connection, committed), then
      // the process dies before the checkpoint commits, so the batch is rolled back.
      await expect(
        t.dataSource.transaction(async (manager) => {
          await starter.handle(events, manager);
          throw new CrashBeforeCheckpoint();
        }),
      ).rejects.toBeInstanceOf(CrashBeforeCheckpoint);
      const afterCrash = await t.measureEvents(cn.measureId);
      expect(await startsOf(cn.measureId, suspensionId as string)).toHaveLength(1);
      expect(await waitsFor(cn.measureId)).toBe(0);

      // The batch again, from the old checkpoint.
      await t.dataSource.transaction((manager) => starter.handle(events, manager));

      const starts = await startsOf(cn.measureId, suspensionId as string);
      expect(starts).toHaveLength(1);
      expect(starts[0]).toMatchObject({
        payload: { startsAt: TAKES_EFFECT, endsAt: ONE_YEAR_LATER },
        metadata: { actor: 'system' },
      });
      expect(await t.measureEvents(cn.measureId)).toEqual(afterCrash);
      expect(await waitsFor(cn.measureId)).toBe(1);
    });

    it('leaves alone a waiting suspension that was started by hand meanwhile', async () => {
      const before = await t.store.headPosition();
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const { suspensionId } = await scheduleWaitingOn(cn.code, {
        code: us.code,
        suspension: us.suspensionId,
      });
      await startByHand(us);
      await t.measure(cn.code, {
        action: 'start-suspension',
        suspensionId: suspensionId as string,
        startsAt: '2025-11-11T00:00:00Z',
        sources: [mofcom],
      });
      const { events } = await t.store.readAll(before, 1000);

      await t.dataSource.transaction((manager) => starter.handle(events, manager));

      const starts = await startsOf(cn.measureId, suspensionId as string);
      expect(starts).toHaveLength(1);
      expect(starts[0].metadata.actor).toBe(EDITOR);
    });

    // The schedule's handler reads the trigger measure before it appends (to start at once when
    // the trigger has already started). A trigger that starts between that read and the append
    // leaves the log as: trigger started, then a schedule that still waits for it.
    it('starts a suspension whose schedule was decided before its trigger started but committed after', async () => {
      const before = await t.store.headPosition();
      const us = await usMeasureWithWaitingSuspension();
      const cn = await cnMeasure();
      const writer = t.app.get(AggregateWriter);
      const { state } = await writer.load(measureDecider, measureStreamId(us.measureId));
      const command: MeasureCommand = {
        type: 'ScheduleSuspension',
        data: {
          startsWhen: { measure: us.measureId, suspension: us.suspensionId },
          triggerMeasure: state.measure,
          duration: 'P1Y',
          sources: [mofcom],
        },
      };

      await startByHand(us);
      const { suspensionId } = await writer.write({
        decider: measureDecider,
        streamId: measureStreamId(cn.measureId),
        aggregateId: cn.measureId,
        command: () => command,
        options: { actor: EDITOR },
      });
      const { events } = await t.store.readAll(before, 1000);
      await t.dataSource.transaction((manager) => starter.handle(events, manager));

      const starts = await startsOf(cn.measureId, suspensionId as string);
      expect(starts.map((e) => e.payload.startsAt)).toEqual([TAKES_EFFECT]);
    });
  });
});
