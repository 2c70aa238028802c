import { randomUUID } from 'node:crypto';
import {
  liveEvents,
  measureStatusAt,
  replayMeasure,
  type MeasureEvent,
  type SuspensionLapsed,
} from '@app/domain';
import {
  ExecuteMeasureAction,
  measureStreamId,
  toDomainEvent,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import {
  recordSuspendedMeasure,
  startAlertsTestApp,
  type AlertsTestApp,
  testSource as source,
} from '../testing/alerts-test-app';
import { AlertFirer } from './alert-firer';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Row {
  id: string;
  lead_time: string;
  fire_at: Date;
  end_at: Date;
  end_version: string;
  state: string;
  outcome: string | null;
}

/**
 * What the alert schedule does after a suspension lapsed: an extension recorded later (in force
 * by the end, or a continuation from a later date) gives the new end its alerts and its own
 * lapse; an editor's retraction of the lapse is not undone by the worker. The schedule
 * projection is fed by hand and the alerts fired with AlertFirer on the test's clock, which the
 * editors' decisions share, so that "after the lapse" is after it for the streams too.
 */
describe('Alerts after a lapse', () => {
  let t: AlertsTestApp;
  let firer: AlertFirer;
  const subscriptionId = randomUUID();

  beforeAll(async () => {
    t = await startAlertsTestApp('alert_after_lapse', { ALERT_LEAD_TIMES: 'P7D,P1D,PT0S' });
    firer = t.app.get(AlertFirer);
    await t.dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
       VALUES ($1, 'https://receiver.example/hooks', '{suspension.*}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
  });
  afterAll(() => t?.close());

  /** An editor's command, decided at the test's clock. */
  const act = (measure: string | null, action: MeasureAction): Promise<WriteResult> =>
    t.commandBus.execute<ExecuteMeasureAction, WriteResult>(
      new ExecuteMeasureAction(measure, action, { actor: 'editor', now: t.clock.now() }),
    );

  /** A measure whose suspension ends at `end`, projected: its end alert pending. */
  async function suspendedUntil(end: number) {
    const { measureId, suspensionId } = await recordSuspendedMeasure(act, end);
    await t.project();
    return { measureId, suspensionId };
  }

  const rows = (suspensionId: string): Promise<Row[]> =>
    t.dataSource.query(
      `SELECT id, lead_time, fire_at, end_at, end_version, state, outcome FROM alert_schedule
        WHERE suspension_id = $1 ORDER BY end_version, fire_at`,
      [suspensionId],
    );

  const summary = (list: Row[]) =>
    list.map((row) => [Number(row.end_version), row.lead_time, row.end_at.getTime(), row.state]);

  /** Runs the job of every alert of the suspension that is due on the test's clock. */
  async function fireDue(suspensionId: string) {
    const due = (await rows(suspensionId)).filter(
      (row) => row.state === 'pending' && row.fire_at.getTime() <= t.clock.at,
    );
    const results = [];
    for (const row of due) {
      results.push(await firer.fire(row.id, Number(row.end_version), row.lead_time));
    }
    return results;
  }

  async function history(measureId: string): Promise<MeasureEvent[]> {
    const events = await t.store.readStream(measureStreamId(measureId));
    return events.map((event) => toDomainEvent<MeasureEvent>(event));
  }

  /** The lapses that stand (not retracted), as the system recorded them. */
  async function lapses(measureId: string) {
    return liveEvents(await history(measureId))
      .filter((event): event is SuspensionLapsed => event.type === 'SuspensionLapsed')
      .map((event) => ({ effectiveAt: event.data.effectiveAt, actor: event.metadata.actor }));
  }

  async function lapseEventId(measureId: string): Promise<string> {
    const lapse = liveEvents(await history(measureId)).findLast(
      (event) => event.type === 'SuspensionLapsed',
    );
    return lapse!.metadata.eventId;
  }

  const sent = (
    alertIds: string[],
  ): Promise<{ message_key: string; event_type: string; webhook_id: string }[]> =>
    t.dataSource.query(
      `SELECT message_key, event_type, webhook_id FROM webhook_deliveries
        WHERE subscription_id = $1 AND message_key = ANY($2) ORDER BY message_key`,
      [subscriptionId, alertIds.flatMap((id) => [`alert:${id}`, `alert:${id}:lapsed`])],
    );

  /** Lapses at `end` (the worker's end job), then leaves the clock an hour later. */
  async function lapseAt(suspensionId: string, end: number) {
    t.clock.at = end + 1000;
    expect(await fireDue(suspensionId)).toEqual([
      expect.objectContaining({ outcome: 'fired', lapse: 'recorded' }),
    ]);
    await t.project();
    t.clock.at = end + HOUR;
  }

  const iso = (at: number) => new Date(at).toISOString();

  /**
   * A suspension recorded after it ended `days` ago, lapsed at once by the worker, the clock at
   * the real time: what the editor records next is recorded after the end, as in life.
   */
  async function lapsedDaysAgo(days: number) {
    t.clock.at = Date.now();
    const end = t.clock.at - days * DAY;
    const created = await suspendedUntil(end);
    expect(await fireDue(created.suspensionId)).toEqual([
      expect.objectContaining({ outcome: 'fired', lapse: 'recorded' }),
    ]);
    await t.project();
    expect(await lapses(created.measureId)).toEqual([{ effectiveAt: iso(end), actor: 'system' }]);
    return { ...created, end };
  }

  it('gives an extension in force by the end but recorded after the lapse its warnings and its own lapse, and fires nothing of the old end again', async () => {
    t.clock.at = Date.now();
    const oldEnd = t.clock.at + HOUR;
    const { measureId, suspensionId } = await suspendedUntil(oldEnd);
    await lapseAt(suspensionId, oldEnd);
    const [oldAlert] = (await rows(suspensionId)).filter((row) => row.lead_time === 'PT0S');
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(oldEnd), actor: 'system' }]);

    // Agreed the day before the end, recorded an hour after the lapse.
    const newEnd = oldEnd + 30 * DAY;
    const extended = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), effectiveAt: iso(oldEnd - DAY), sources: [source] },
    });
    await t.project();

    // The lapse is retracted with it, and the new end has its lead times, none past yet.
    expect(await lapses(measureId)).toEqual([]);
    const v = extended.version;
    expect(summary(await rows(suspensionId))).toEqual([
      [2, 'P7D', oldEnd, 'skipped'],
      [2, 'P1D', oldEnd, 'skipped'],
      [2, 'PT0S', oldEnd, 'fired'],
      [v, 'P7D', newEnd, 'pending'],
      [v, 'P1D', newEnd, 'pending'],
      [v, 'PT0S', newEnd, 'pending'],
    ]);
    // The measure's status between the ends: still suspended, until the new end.
    const measure = replayMeasure(await history(measureId));
    expect(measure?.suspensions[0]).toMatchObject({ state: 'active', endsAt: iso(newEnd) });
    expect(measureStatusAt(measure!, iso(oldEnd + DAY))).toMatchObject({
      status: 'suspended',
      activeSuspension: { id: suspensionId, endsAt: iso(newEnd) },
    });

    // Each warning fires when due; the new end records a lapse again, as the system.
    t.clock.at = newEnd - 7 * DAY + 1000;
    expect(await fireDue(suspensionId)).toEqual([expect.objectContaining({ outcome: 'fired' })]);
    t.clock.at = newEnd - DAY + 1000;
    expect(await fireDue(suspensionId)).toEqual([expect.objectContaining({ outcome: 'fired' })]);
    await lapseAt(suspensionId, newEnd);
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(newEnd), actor: 'system' }]);
    expect((await rows(suspensionId)).map((row) => row.state)).toEqual([
      'skipped',
      'skipped',
      'fired',
      'fired',
      'fired',
      'fired',
    ]);

    // The old end's job, run again (a retry, a re-created job), is fenced: nothing twice.
    expect(await firer.fire(oldAlert.id, 2, 'PT0S')).toEqual({ outcome: 'fenced', state: 'fired' });
    const all = await rows(suspensionId);
    const deliveries = await sent(all.map((row) => row.id));
    expect(deliveries.map((d) => d.event_type).sort()).toEqual([
      'suspension.expiring', // the old end
      'suspension.expiring', // P7D
      'suspension.expiring', // P1D
      'suspension.expiring', // the new end
      'suspension.lapsed', // the old end
      'suspension.lapsed', // the new end
    ]);
    expect(new Set(deliveries.map((d) => d.webhook_id)).size).toBe(6);
    expect(await lapses(measureId)).toHaveLength(1);
  });

  it('gives a continuation from after the lapse its warnings and its own lapse; the first lapse stands', async () => {
    t.clock.at = Date.now();
    const oldEnd = t.clock.at + 2 * HOUR;
    const { measureId, suspensionId } = await suspendedUntil(oldEnd);
    await lapseAt(suspensionId, oldEnd);

    // Continued from a week after the end (a gap), recorded then, to run for 60 more days.
    t.clock.at = oldEnd + 7 * DAY;
    const newEnd = oldEnd + 60 * DAY;
    const extended = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), sources: [source] },
    });
    await t.project();

    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(oldEnd), actor: 'system' }]);
    expect(summary((await rows(suspensionId)).slice(3))).toEqual([
      [extended.version, 'P7D', newEnd, 'pending'],
      [extended.version, 'P1D', newEnd, 'pending'],
      [extended.version, 'PT0S', newEnd, 'pending'],
    ]);
    // The status shows the gap, then the suspension again until the new end.
    const measure = replayMeasure(await history(measureId));
    expect(measureStatusAt(measure!, iso(oldEnd + DAY))).toMatchObject({ status: 'in-force' });
    expect(measureStatusAt(measure!, iso(oldEnd + 8 * DAY))).toMatchObject({
      status: 'suspended',
      activeSuspension: { endsAt: iso(newEnd) },
    });

    t.clock.at = newEnd - DAY + 1000;
    expect(await fireDue(suspensionId)).toHaveLength(2);
    await lapseAt(suspensionId, newEnd);
    expect(await lapses(measureId)).toEqual([
      { effectiveAt: iso(oldEnd), actor: 'system' },
      { effectiveAt: iso(newEnd), actor: 'system' },
    ]);
    expect(await fireDue(suspensionId)).toEqual([]);
  });

  it("skips the new end's lead times already past when the extension is recorded", async () => {
    // Lapsed two days ago; extended now (in force by the end) to end in 3 days.
    const { measureId, suspensionId, end: oldEnd } = await lapsedDaysAgo(2);
    const newEnd = t.clock.at + 3 * DAY;
    const extended = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), effectiveAt: iso(oldEnd - HOUR), sources: [source] },
    });
    await t.project();

    expect(summary((await rows(suspensionId)).slice(3))).toEqual([
      [extended.version, 'P7D', newEnd, 'skipped'],
      [extended.version, 'P1D', newEnd, 'pending'],
      [extended.version, 'PT0S', newEnd, 'pending'],
    ]);
    expect(await fireDue(suspensionId)).toEqual([]);
    t.clock.at = newEnd + 1000;
    expect(await fireDue(suspensionId)).toHaveLength(2);
    await t.project();
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(newEnd), actor: 'system' }]);
  });

  it('does not record again a lapse an editor retracted while the end stands, and never loops', async () => {
    const { measureId, suspensionId, end } = await lapsedDaysAgo(2);
    const before = summary(await rows(suspensionId));

    await act(measureId, {
      action: 'retract-event',
      body: {
        eventId: await lapseEventId(measureId),
        reason: 'Recorded wrongly',
        sources: [source],
      },
    });
    await t.project();

    // The suspension stands un-lapsed past its end: nothing is planned, nothing due, no lapse,
    // now or later (a Redis loss or a reconciler pass finds nothing pending either).
    expect(summary(await rows(suspensionId))).toEqual(before);
    expect(await fireDue(suspensionId)).toEqual([]);
    t.clock.at += 30 * DAY;
    expect(await fireDue(suspensionId)).toEqual([]);
    expect(await lapses(measureId)).toEqual([]);
    const measure = replayMeasure(await history(measureId));
    expect(measure?.suspensions[0]).toMatchObject({ state: 'active', endsAt: iso(end) });
    // The rates in force do not depend on the lapse: the end has passed either way.
    expect(measureStatusAt(measure!, iso(end + DAY))).toMatchObject({ status: 'in-force' });

    // What the editor records next is what the schedule follows: here, that the suspension was
    // lifted an hour before its end. The lifting is accepted (a lapse on record would refuse it),
    // and there is still nothing to fire.
    await act(measureId, {
      action: 'lift-suspension',
      suspensionId,
      body: { effectiveAt: iso(end - HOUR), sources: [source] },
    });
    await t.project();
    expect(summary(await rows(suspensionId))).toEqual(before);
    expect(await fireDue(suspensionId)).toEqual([]);
    expect(await lapses(measureId)).toEqual([]);
  });

  it('brings a retracted lapse back when the retraction is retracted, and records no second one', async () => {
    const { measureId, suspensionId, end } = await lapsedDaysAgo(3);
    const before = summary(await rows(suspensionId));

    const retraction = await act(measureId, {
      action: 'retract-event',
      body: { eventId: await lapseEventId(measureId), reason: 'By mistake', sources: [source] },
    });
    await t.project();
    await act(measureId, {
      action: 'retract-event',
      body: { eventId: retraction.eventIds[0], reason: 'The lapse was right', sources: [source] },
    });
    await t.project();

    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(end), actor: 'system' }]);
    expect(summary(await rows(suspensionId))).toEqual(before);
    expect(await fireDue(suspensionId)).toEqual([]);
    expect(await lapses(measureId)).toHaveLength(1);
  });

  it('lapses the old end again, once, when the extension recorded after its lapse is retracted', async () => {
    const { measureId, suspensionId, end: oldEnd } = await lapsedDaysAgo(4);
    const newEnd = t.clock.at + 30 * DAY;
    const extended = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), effectiveAt: iso(oldEnd - DAY), sources: [source] },
    });
    await t.project();
    expect(await lapses(measureId)).toEqual([]);

    // The extension was wrong after all: the old end stands, and it has passed.
    const extension = extended.eventIds[extended.eventIds.length - 1];
    const retracted = await act(measureId, {
      action: 'retract-event',
      body: { eventId: extension, reason: 'No such agreement', sources: [source] },
    });
    await t.project();

    const list = await rows(suspensionId);
    expect(summary(list.filter((row) => Number(row.end_version) === extended.version))).toEqual([
      [extended.version, 'P7D', newEnd, 'cancelled'],
      [extended.version, 'P1D', newEnd, 'cancelled'],
      [extended.version, 'PT0S', newEnd, 'cancelled'],
    ]);
    expect(summary(list.filter((row) => Number(row.end_version) === retracted.version))).toEqual([
      [retracted.version, 'P7D', oldEnd, 'skipped'],
      [retracted.version, 'P1D', oldEnd, 'skipped'],
      [retracted.version, 'PT0S', oldEnd, 'pending'],
    ]);
    expect(await fireDue(suspensionId)).toEqual([
      expect.objectContaining({ outcome: 'fired', lapse: 'recorded' }),
    ]);
    await t.project();
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(oldEnd), actor: 'system' }]);
    expect(await fireDue(suspensionId)).toEqual([]);
  });

  it('cancels the alerts of a continuation retracted after the lapse it followed: nothing fires for an end that is gone', async () => {
    const { measureId, suspensionId, end } = await lapsedDaysAgo(5);
    const newEnd = t.clock.at + 30 * DAY;
    const continued = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), sources: [source] },
    });
    await t.project();
    expect((await rows(suspensionId)).filter((row) => row.state === 'pending')).toHaveLength(3);

    await act(measureId, {
      action: 'retract-event',
      body: { eventId: continued.eventIds[0], reason: 'Never decided', sources: [source] },
    });
    await t.project();

    // The lapse stands and the suspension is lapsed again: the continuation's end is gone.
    const renewed = (await rows(suspensionId)).filter(
      (row) => Number(row.end_version) === continued.version,
    );
    expect(renewed.map((row) => [row.lead_time, row.state, row.outcome])).toEqual([
      ['P7D', 'cancelled', 'cancelled: end-moved'],
      ['P1D', 'cancelled', 'cancelled: end-moved'],
      ['PT0S', 'cancelled', 'cancelled: end-moved'],
    ]);
    for (const at of [newEnd - 7 * DAY, newEnd - DAY, newEnd]) {
      t.clock.at = at + 1000;
      expect(await fireDue(suspensionId)).toEqual([]);
    }
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(end), actor: 'system' }]);
    expect(await sent(renewed.map((row) => row.id))).toEqual([]);
    const measure = replayMeasure(await history(measureId));
    expect(measure?.suspensions[0]).toMatchObject({ state: 'lapsed', endsAt: iso(end) });

    // Continued again later: that end is scheduled as usual, and lapses in its turn.
    const again = t.clock.at + 10 * DAY;
    await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(again), sources: [source] },
    });
    await t.project();
    expect((await rows(suspensionId)).filter((row) => row.state === 'pending')).toHaveLength(3);
    t.clock.at = again + 1000;
    expect(await fireDue(suspensionId)).toHaveLength(3);
    await t.project();
    expect(await lapses(measureId)).toEqual([
      { effectiveAt: iso(end), actor: 'system' },
      { effectiveAt: iso(again), actor: 'system' },
    ]);
  });

  it('announces a lapse recorded by a run that died before marking it, though a continuation came meanwhile', async () => {
    t.clock.at = Date.now();
    const end = t.clock.at - DAY;
    const { measureId, suspensionId } = await suspendedUntil(end);
    const [alert] = (await rows(suspensionId)).filter((row) => row.lead_time === 'PT0S');
    // A first run recorded the lapse (the firer's command id) and died before marking the alert.
    await t.commandBus.execute(
      new ExecuteMeasureAction(
        measureId,
        { action: 'lapse-suspension', suspensionId },
        {
          actor: 'system',
          commandId: `lapse:${measureId}:${suspensionId}:${alert.end_version}`,
          now: t.clock.now(),
        },
      ),
    );
    // Meanwhile (the worker down), an editor continued the suspension from now.
    const newEnd = t.clock.at + 30 * DAY;
    const continued = await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: { endsAt: iso(newEnd), sources: [source] },
    });
    await t.project();

    // The lapse stands: its alert still fires, finds the lapse recorded and announces it, once
    // (alone: the end was past when the suspension was recorded, so there was nothing to warn of).
    expect(await fireDue(suspensionId)).toEqual([
      expect.objectContaining({ outcome: 'fired', lapse: 'recorded' }),
    ]);
    expect(await lapses(measureId)).toEqual([{ effectiveAt: iso(end), actor: 'system' }]);
    const deliveries = await sent([alert.id]);
    expect(deliveries.map((d) => d.event_type)).toEqual(['suspension.lapsed']);
    expect(await firer.fire(alert.id, Number(alert.end_version), 'PT0S')).toEqual({
      outcome: 'fenced',
      state: 'fired',
    });
    // The continuation's end is scheduled beside it.
    expect(summary((await rows(suspensionId)).filter((row) => row.state === 'pending'))).toEqual([
      [continued.version, 'P7D', newEnd, 'pending'],
      [continued.version, 'P1D', newEnd, 'pending'],
      [continued.version, 'PT0S', newEnd, 'pending'],
    ]);
  });

  it('announces nothing of a lapse recorded by a run that died, once a late-recorded extension retracted it', async () => {
    t.clock.at = Date.now();
    const end = t.clock.at - DAY;
    const { measureId, suspensionId } = await suspendedUntil(end);
    const [alert] = (await rows(suspensionId)).filter((row) => row.lead_time === 'PT0S');
    await t.commandBus.execute(
      new ExecuteMeasureAction(
        measureId,
        { action: 'lapse-suspension', suspensionId },
        {
          actor: 'system',
          commandId: `lapse:${measureId}:${suspensionId}:${alert.end_version}`,
          now: t.clock.now(),
        },
      ),
    );
    // In force by the end: the lapse was wrong, and is retracted with the extension.
    await act(measureId, {
      action: 'extend-suspension',
      suspensionId,
      body: {
        endsAt: iso(t.clock.at + 30 * DAY),
        effectiveAt: iso(end - HOUR),
        sources: [source],
      },
    });
    await t.project();

    expect((await rows(suspensionId)).find((row) => row.id === alert.id)).toMatchObject({
      state: 'cancelled',
      outcome: 'cancelled: end-moved',
    });
    expect(await firer.fire(alert.id, Number(alert.end_version), 'PT0S')).toEqual({
      outcome: 'fenced',
      state: 'cancelled',
    });
    expect(await sent([alert.id])).toEqual([]);
    expect(await lapses(measureId)).toEqual([]);
  });
});
