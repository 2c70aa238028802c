import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import type { EventStore } from '@app/event-store';
import { ExecuteMeasureAction, measureStreamId, type MeasureAction } from '@app/trade';
import { WebhookDispatcher } from '@app/webhooks';
import type { DataSource } from 'typeorm';
import { AlertMetrics } from '../alert-metrics';
import {
  recordSuspendedMeasure,
  startAlertsTestApp,
  type AlertsTestApp,
  type TestClock,
  testSource as source,
} from '../testing/alerts-test-app';
import { AlertFirer } from './alert-firer';

const HOUR = 3_600_000;

interface EndRow {
  id: string;
  measure_id: string;
  suspension_id: string;
  end_version: string;
  state: string;
  outcome: string | null;
  fired_at: Date | null;
}

interface Due {
  measureId: string;
  suspensionId: string;
  alert: EndRow;
}

/**
 * The batches of AlertFirer on PostgreSQL, without BullMQ: a job's `fire` takes a batch of due
 * ends, records each lapse through the CommandBus and marks them in one transaction; a warning's
 * job fires a batch of due warnings. The clock is the test's: ends are recorded an hour ahead and "reached" by moving
 * it, so the streams' own lapse decisions see them ended.
 */
describe('AlertFirer: batches', () => {
  let t: AlertsTestApp;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let commandBus: CommandBus;
  let store: EventStore;
  let clock: TestClock;
  let firer: AlertFirer;
  const subscriptionId = randomUUID();

  beforeAll(async () => {
    t = await startAlertsTestApp('alert_firer');
    ({ app, dataSource, commandBus, store, clock } = t);
    firer = app.get(AlertFirer);
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
       VALUES ($1, 'https://receiver.example/hooks', '{suspension.*}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
  });
  afterAll(() => t?.close());

  const act = (measure: string | null, action: MeasureAction) => t.act(measure, action);
  const project = () => t.project();

  /** `count` suspensions ending together at `endAt`, projected, each with its pending end alert. */
  async function endingAt(endAt: number, count: number): Promise<Due[]> {
    const created: Array<{ measureId: string; suspensionId: string }> = [];
    for (let i = 0; i < count; i += 1) {
      const { measureId, suspensionId } = await recordSuspendedMeasure(act, endAt);
      created.push({ measureId, suspensionId });
    }
    await project();
    const rows = await ends(created.map((c) => c.suspensionId));
    return created.map((c) => ({ ...c, alert: rows.get(c.suspensionId)! }));
  }

  async function ends(suspensionIds: string[]): Promise<Map<string, EndRow>> {
    const rows: EndRow[] = await dataSource.query(
      `SELECT id, measure_id, suspension_id, end_version, state, outcome, fired_at
         FROM alert_schedule WHERE suspension_id = ANY($1) AND lead_time = 'PT0S'
        ORDER BY end_version`,
      [suspensionIds],
    );
    // The latest end of each suspension.
    return new Map(rows.map((row) => [row.suspension_id, row]));
  }

  async function lapses(measureId: string) {
    const events = await store.readStream(measureStreamId(measureId));
    return events.filter((event) => event.type === 'SuspensionLapsed');
  }

  const deliveries = (
    alertIds: string[],
  ): Promise<{ message_key: string; event_type: string; webhook_id: string }[]> =>
    dataSource.query(
      `SELECT message_key, event_type, webhook_id FROM webhook_deliveries
        WHERE subscription_id = $1 AND message_key = ANY($2) ORDER BY message_key`,
      [subscriptionId, alertIds.flatMap((id) => [`alert:${id}`, `alert:${id}:lapsed`])],
    );

  const fire = (due: Due, on = firer) =>
    on.fire(due.alert.id, Number(due.alert.end_version), 'PT0S');

  /** Another worker process: the same database and bus, none of this firer's memory. */
  const otherProcess = () =>
    new AlertFirer(
      dataSource,
      commandBus,
      app.get(WebhookDispatcher),
      clock,
      app.get(AlertMetrics),
    );

  it('fires a batch of due ends from one job: one lapse each, as the system, sent once', async () => {
    const end = Date.now() + HOUR;
    const due = await endingAt(end, 12);
    clock.at = end + 1000;

    const first = await fire(due[0]);
    expect(first).toMatchObject({ outcome: 'fired', lapse: 'recorded', deliveries: 2 });

    // The job's batch took every due end: all fired, each with its lapse recorded once.
    const rows = await ends(due.map((d) => d.suspensionId));
    for (const d of due) {
      expect(rows.get(d.suspensionId)).toMatchObject({
        state: 'fired',
        outcome: 'lapse recorded',
      });
      const lapsed = await lapses(d.measureId);
      expect(lapsed).toHaveLength(1);
      expect(lapsed[0].metadata).toMatchObject({
        actor: 'system',
        commandId: `lapse:${d.measureId}:${d.suspensionId}:${d.alert.end_version}`,
        correlationId: `alert:${d.alert.id}`,
      });
    }
    // The other alerts' jobs find them fired and do nothing, in this process or another.
    for (const d of due.slice(1)) {
      expect(await fire(d)).toEqual({ outcome: 'fenced', state: 'fired' });
      expect(await fire(d, otherProcess())).toEqual({ outcome: 'fenced', state: 'fired' });
    }
    const sent = await deliveries(due.map((d) => d.alert.id));
    expect(sent).toHaveLength(24);
    expect(new Set(sent.map((s) => s.webhook_id)).size).toBe(24);
    expect(sent.filter((s) => s.event_type === 'suspension.lapsed')).toHaveLength(12);
    for (const d of due) expect(await lapses(d.measureId)).toHaveLength(1);
  });

  it('leaves alone an end an extension moved meanwhile: no lapse, and its own job retries', async () => {
    const end = Date.now() + 2 * HOUR;
    const due = await endingAt(end, 5);
    // Recorded on the stream, not yet projected: the schedule still shows the old end pending.
    const extended = due[2];
    await act(extended.measureId, {
      action: 'extend-suspension',
      suspensionId: extended.suspensionId,
      body: { endsAt: new Date(end + 24 * HOUR).toISOString(), sources: [source] },
    });
    clock.at = end + 1000;

    expect(await fire(due[0])).toMatchObject({ outcome: 'fired', lapse: 'recorded' });
    const rows = await ends(due.map((d) => d.suspensionId));
    expect(rows.get(extended.suspensionId)).toMatchObject({ state: 'pending', fired_at: null });
    expect(await lapses(extended.measureId)).toEqual([]);
    for (const d of due.filter((d) => d !== extended)) {
      expect(rows.get(d.suspensionId)?.state).toBe('fired');
      expect(await lapses(d.measureId)).toHaveLength(1);
    }
    expect(await deliveries([extended.alert.id])).toEqual([]);

    // Its own job is told to come back once the schedule has seen the extension, and records
    // nothing either.
    expect(await fire(extended)).toEqual({ outcome: 'behind' });
    expect(await lapses(extended.measureId)).toEqual([]);

    // Once the schedule has seen the extension, the old end's job is fenced.
    await project();
    expect(await fire(extended)).toEqual({ outcome: 'fenced', state: 'cancelled' });
    expect(await lapses(extended.measureId)).toEqual([]);
  });

  it('records nothing twice when a batch is retried after its lapses were recorded', async () => {
    const end = Date.now() + 3 * HOUR;
    const due = await endingAt(end, 6);
    clock.at = end + 1000;
    // A first run recorded three lapses (same command ids) and died before marking anything.
    for (const d of due.slice(0, 3)) {
      await commandBus.execute(
        new ExecuteMeasureAction(
          d.measureId,
          { action: 'lapse-suspension', suspensionId: d.suspensionId },
          {
            actor: 'system',
            commandId: `lapse:${d.measureId}:${d.suspensionId}:${d.alert.end_version}`,
            now: clock.now(),
          },
        ),
      );
    }

    // The retry (another process, as after a crash), once the schedule has seen those lapses,
    // fires them all.
    await project();
    expect(await fire(due[5], otherProcess())).toMatchObject({ outcome: 'fired' });
    const rows = await ends(due.map((d) => d.suspensionId));
    for (const d of due) {
      expect(rows.get(d.suspensionId)?.state).toBe('fired');
      expect(await lapses(d.measureId)).toHaveLength(1);
    }
    // And a third run finds nothing left to do.
    for (const d of due) expect(await fire(d, otherProcess())).toMatchObject({ outcome: 'fenced' });
    for (const d of due) expect(await lapses(d.measureId)).toHaveLength(1);
    const sent = await deliveries(due.map((d) => d.alert.id));
    expect(sent).toHaveLength(12);
    expect(new Set(sent.map((s) => s.message_key)).size).toBe(12);
  });

  it('leaves to the schedule the end of a suspension lifted since: never fired, then cancelled', async () => {
    const end = Date.now() + 4 * HOUR;
    const due = await endingAt(end, 3);
    const lifted = due[1];
    await act(lifted.measureId, {
      action: 'lift-suspension',
      suspensionId: lifted.suspensionId,
      body: { effectiveAt: new Date().toISOString(), sources: [source] },
    });
    clock.at = end + 1000;

    expect(await fire(due[0])).toMatchObject({ outcome: 'fired' });
    const rows = await ends(due.map((d) => d.suspensionId));
    expect(rows.get(lifted.suspensionId)).toMatchObject({ state: 'pending', fired_at: null });
    expect(await fire(lifted)).toEqual({ outcome: 'behind' });
    await project();
    expect((await ends([lifted.suspensionId])).get(lifted.suspensionId)).toMatchObject({
      state: 'cancelled',
    });
    expect(await lapses(lifted.measureId)).toEqual([]);
    expect(await deliveries([lifted.alert.id])).toEqual([]);
    expect(await fire(lifted)).toEqual({ outcome: 'fenced', state: 'cancelled' });
  });

  it('fires each end once when the jobs of two processes take overlapping batches at once', async () => {
    const end = Date.now() + 5 * HOUR;
    const due = await endingAt(end, 40);
    clock.at = end + 1000;
    const processes = [firer, otherProcess(), otherProcess()];

    const results = await Promise.all(
      due.map((d, index) => fire(d, processes[index % processes.length])),
    );
    const outcomes = results.map((result) => result.outcome);
    expect(outcomes.filter((outcome) => outcome === 'fired').length).toBeGreaterThan(0);
    // A job whose measure another process has just lapsed waits for the schedule to see that
    // lapse; run again then, it finds its alert fired.
    expect(outcomes.every((o) => o === 'fired' || o === 'fenced' || o === 'behind')).toBe(true);
    await project();
    for (const [index, result] of results.entries()) {
      if (result.outcome === 'behind')
        expect(await fire(due[index], processes[index % processes.length])).toEqual({
          outcome: 'fenced',
          state: 'fired',
        });
    }

    const rows = await ends(due.map((d) => d.suspensionId));
    for (const d of due) {
      expect(rows.get(d.suspensionId)?.state).toBe('fired');
      expect(await lapses(d.measureId)).toHaveLength(1);
    }
    const sent = await deliveries(due.map((d) => d.alert.id));
    expect(sent).toHaveLength(80);
    expect(new Set(sent.map((s) => s.webhook_id)).size).toBe(80);
  });

  it('fires each due warning once when the jobs of a burst and of two processes run at once', async () => {
    // More jobs than a process lets batches run at once: the jobs waiting for a slot find their
    // warning fired by a batch ahead of them instead of starting batches of their own.
    // Warnings a day ahead, which only a subscription that asks for them gets.
    const warned = randomUUID();
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, lead_times, secret, created_at, updated_at)
       VALUES ($1, 'https://receiver.example/warned', '{suspension.*}', '{P1D}', 'whsec_test', now(), now())`,
      [warned],
    );
    const end = Date.now() + 2 * 24 * HOUR;
    const due = await endingAt(end, 30);
    clock.at = end - 24 * HOUR + 1000;
    const warnings: { id: string; end_version: string }[] = await dataSource.query(
      `SELECT id, end_version FROM alert_schedule
        WHERE suspension_id = ANY($1) AND lead_time = 'P1D' AND state = 'pending'`,
      [due.map((d) => d.suspensionId)],
    );
    expect(warnings).toHaveLength(30);
    const processes = [firer, firer, firer, otherProcess()];

    const results = await Promise.all(
      warnings.map((warning, index) =>
        processes[index % processes.length].fire(warning.id, Number(warning.end_version), 'P1D'),
      ),
    );
    const outcomes = results.map((result) => result.outcome);
    expect(outcomes.filter((outcome) => outcome === 'fired').length).toBeGreaterThan(0);
    expect(outcomes.every((outcome) => outcome === 'fired' || outcome === 'fenced')).toBe(true);

    const after: { state: string }[] = await dataSource.query(
      'SELECT state FROM alert_schedule WHERE id = ANY($1)',
      [warnings.map((warning) => warning.id)],
    );
    expect(after.map((row) => row.state)).toEqual(Array(30).fill('fired'));
    const sent: { webhook_id: string }[] = await dataSource.query(
      'SELECT webhook_id FROM webhook_deliveries WHERE subscription_id = $1 AND message_key = ANY($2)',
      [warned, warnings.map((warning) => `alert:${warning.id}`)],
    );
    expect(sent).toHaveLength(30);
    expect(new Set(sent.map((row) => row.webhook_id)).size).toBe(30);
    // Staged with the firing, written before the jobs answered, and counted by the firings.
    const staged: unknown[] = await dataSource.query(
      'SELECT message_key FROM webhook_messages WHERE message_key = ANY($1) AND recipients IS NOT NULL',
      [warnings.map((warning) => `alert:${warning.id}`)],
    );
    expect(staged).toEqual([]);
    // The job that fired a batch answers for its own warning: one subscription, one delivery.
    for (const result of results) if (result.outcome === 'fired') expect(result.deliveries).toBe(1);
  });

  it.each([
    ['a retraction of its extension', 'retract-extension'],
    ['a revocation before its end', 'revoke'],
  ])(
    'fires nothing of a measure whose %s the schedule has not seen yet (a worker just started)',
    async (_, change) => {
      const end = Date.now() + 8 * HOUR;
      const [due] = await endingAt(end, 1);
      const extension = await act(due.measureId, {
        action: 'extend-suspension',
        suspensionId: due.suspensionId,
        body: { endsAt: new Date(end + 24 * HOUR).toISOString(), sources: [source] },
      });
      await project();
      const [moved] = [...(await ends([due.suspensionId])).values()];
      const later: Due = { ...due, alert: moved };
      // Recorded while no schedule ran: the stream says the alert's end will not come.
      await act(
        due.measureId,
        change === 'revoke'
          ? {
              action: 'revoke-measure',
              body: { effectiveAt: new Date(end).toISOString(), sources: [source] },
            }
          : {
              action: 'retract-event',
              body: { eventId: extension.eventIds[0], reason: 'Never decided', sources: [source] },
            },
      );
      clock.at = end + 24 * HOUR + 1000;

      expect(await fire(later)).toEqual({ outcome: 'behind' });
      expect(await fire(later, otherProcess())).toEqual({ outcome: 'behind' });
      expect(await lapses(due.measureId)).toEqual([]);
      expect(await deliveries([later.alert.id])).toEqual([]);

      // Once it has, the stale job is fenced and nothing was ever sent for that end.
      await project();
      expect(await fire(later)).toEqual({ outcome: 'fenced', state: 'cancelled' });
      expect(await deliveries([later.alert.id])).toEqual([]);
    },
  );

  it('takes nothing for a job that comes too early or for an end that is not due', async () => {
    const end = Date.now() + 6 * HOUR;
    const due = await endingAt(end, 2);
    clock.at = end - 60_000;
    expect(await fire(due[0])).toEqual({ outcome: 'not-due', fireAt: new Date(end) });
    const rows = await ends(due.map((d) => d.suspensionId));
    expect([...rows.values()].map((row) => row.state)).toEqual(['pending', 'pending']);
    for (const d of due) expect(await lapses(d.measureId)).toEqual([]);
  });
});
