import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { MeasureAction } from '@app/trade';
import { WebhookSubscriptionsService } from '@app/webhooks';
import type { DataSource } from 'typeorm';
import { AlertFirer } from '../fire/alert-firer';
import {
  recordSuspendedMeasure,
  startAlertsTestApp,
  type AlertsTestApp,
  type TestClock,
} from '../testing/alerts-test-app';
import { AlertLeadTimeTopUp } from './alert-lead-time-top-up';

interface AlertRow {
  id: string;
  lead_time: string;
  fire_at: Date;
  end_version: string;
  state: string;
  outcome: string | null;
}

/**
 * Which lead times the schedule keeps for subscriptions that are disabled or deleted, on
 * PostgreSQL: the projection and the top-up as the worker runs them, the firer with the test's
 * clock, and the subscriptions service of the admin API.
 */
describe('Alert lead times of disabled and deleted subscriptions', () => {
  let t: AlertsTestApp;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let clock: TestClock;
  let subscriptions: WebhookSubscriptionsService;

  beforeAll(async () => {
    t = await startAlertsTestApp('alert_lead_times', { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' });
    ({ app, dataSource, clock } = t);
    subscriptions = app.get(WebhookSubscriptionsService);
  });
  afterAll(() => t?.close());

  const act = (measure: string | null, action: MeasureAction) => t.act(measure, action);

  /** What the worker does between events: the projection up to the head, then a top-up. */
  async function schedule(): Promise<void> {
    await t.project();
    await app.get(AlertLeadTimeTopUp).run();
  }

  async function suspensionEndingAt(endAt: number): Promise<string> {
    const { suspensionId } = await recordSuspendedMeasure(act, endAt);
    await schedule();
    return suspensionId;
  }

  const alerts = (suspensionId: string): Promise<AlertRow[]> =>
    dataSource.query(
      `SELECT id, lead_time, fire_at, end_version, state, outcome FROM alert_schedule
        WHERE suspension_id = $1 ORDER BY fire_at`,
      [suspensionId],
    );

  const deliveries = (
    subscriptionId: string,
  ): Promise<{ message_key: string; webhook_id: string; status: string; last_error: string }[]> =>
    dataSource.query(
      `SELECT message_key, webhook_id, status, last_error FROM webhook_deliveries
        WHERE subscription_id = $1 ORDER BY created_at`,
      [subscriptionId],
    );

  /** Subscriptions of the current test, deleted after it so that its lead times go with them. */
  let created: string[] = [];
  afterEach(async () => {
    await dataSource.query('DELETE FROM webhook_subscriptions WHERE id = ANY($1::uuid[])', [
      created,
    ]);
    created = [];
  });

  const subscribe = async (leadTimes: string[]) => {
    const subscription = await subscriptions.create({
      url: `http://127.0.0.1:9/${randomUUID()}`,
      description: 'lead times',
      eventTypes: ['suspension.expiring'],
      filters: {},
      leadTimes,
      format: 'standard',
      enabled: true,
    });
    created.push(subscription.id);
    return subscription;
  };

  it('keeps the lead times of a disabled subscription, records its warnings as not sent and replays them on re-enabling', async () => {
    // The only subscription asking for PT100S, disabled before the suspension is recorded.
    const subscription = await subscribe(['PT100S']);
    await schedule();
    await subscriptions.update(subscription.id, { enabled: false });
    await schedule();

    const end = Date.now() + 150_000;
    const suspensionId = await suspensionEndingAt(end);
    // Lead times are kept in one canonical spelling: PT100S is PT1M40S.
    const warning = (await alerts(suspensionId)).find((row) => row.lead_time === 'PT1M40S');
    expect(warning).toMatchObject({ state: 'pending', outcome: null });
    expect(warning!.fire_at.getTime()).toBe(end - 100_000);

    // Its time comes while the subscription is still disabled: it fires, not sent to it.
    clock.at = end - 100_000 + 500;
    await expect(
      app.get(AlertFirer).fire(warning!.id, Number(warning!.end_version), 'PT1M40S'),
    ).resolves.toMatchObject({ outcome: 'fired', deliveries: 0 });
    const [missed] = await deliveries(subscription.id);
    expect(missed).toMatchObject({
      message_key: `alert:${warning!.id}`,
      status: 'failed',
      last_error: 'Not sent: the subscription was disabled',
    });

    // Re-enabled: what it missed is sent, with its own webhook-id; the schedule is unchanged.
    await subscriptions.update(subscription.id, { enabled: true });
    await schedule();
    expect(await deliveries(subscription.id)).toEqual([
      expect.objectContaining({
        message_key: missed.message_key,
        webhook_id: missed.webhook_id,
        status: 'pending',
      }),
    ]);
    expect(
      (await alerts(suspensionId)).map((row) => [row.lead_time, row.state, row.outcome]),
    ).toEqual([
      ['PT1M40S', 'fired', 'fired'],
      ['PT0S', 'pending', null],
    ]);
  });

  it('keeps a lead time topped up for an enabled subscription when it is disabled later', async () => {
    const subscription = await subscribe(['PT7M']);
    const end = Date.now() + 3_600_000;
    const before = await suspensionEndingAt(end);
    await subscriptions.update(subscription.id, { enabled: false });
    await schedule();
    const after = await suspensionEndingAt(end);

    const summary = async (suspensionId: string) =>
      (await alerts(suspensionId)).map((row) => [row.lead_time, row.state]);
    const both = [
      ['PT7M', 'pending'],
      ['PT0S', 'pending'],
    ];
    expect({ before: await summary(before), after: await summary(after) }).toEqual({
      before: both,
      after: both,
    });
  });

  it('drops the lead times of a deleted subscription from the schedule of ends recorded later', async () => {
    const subscription = await subscribe(['PT9M']);
    await schedule();
    const end = Date.now() + 3_600_000;
    const before = await suspensionEndingAt(end);
    await subscriptions.delete(subscription.id);
    await schedule();
    const after = await suspensionEndingAt(end);

    expect((await alerts(before)).map((row) => [row.lead_time, row.state])).toEqual([
      // Left to fire to nobody (cancelling it would keep it from a subscription asking again).
      ['PT9M', 'pending'],
      ['PT0S', 'pending'],
    ]);
    expect((await alerts(after)).map((row) => [row.lead_time, row.state])).toEqual([
      ['PT0S', 'pending'],
    ]);
    expect(
      await dataSource.query(`SELECT 1 FROM alert_lead_times WHERE lead_time = 'PT9M'`),
    ).toEqual([]);
  });
});
