import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import {
  ExecuteAgreementAction,
  concludeAgreementBody,
  type MeasureAction,
  type WriteResult,
} from '@app/trade';
import { register, type Histogram } from 'prom-client';
import type { DataSource } from 'typeorm';
import {
  recordTestMeasure,
  startAlertsTestApp,
  testSource as source,
  type AlertsTestApp,
  type TestClock,
} from '../testing/alerts-test-app';
import { AlertFirer } from './alert-firer';

const HOUR = 3_600_000;

interface EndRow {
  id: string;
  end_version: string;
  state: string;
}

/**
 * What fired alerts say and measure, on PostgreSQL with the test's clock: the agreements their
 * payloads name, and the fire lateness they report to Prometheus.
 */
describe('AlertFirer: payloads and metrics', () => {
  let t: AlertsTestApp;
  let app: INestApplicationContext;
  let dataSource: DataSource;
  let commandBus: CommandBus;
  let clock: TestClock;
  const subscriptionId = randomUUID();

  beforeAll(async () => {
    t = await startAlertsTestApp('alert_firer_reporting');
    ({ app, dataSource, commandBus, clock } = t);
    await dataSource.query(
      `INSERT INTO webhook_subscriptions (id, url, event_types, secret, created_at, updated_at)
       VALUES ($1, 'https://receiver.example/hooks', '{suspension.*}', 'whsec_test', now(), now())`,
      [subscriptionId],
    );
  });
  afterAll(() => t?.close());

  const act = (measure: string | null, action: MeasureAction) => t.act(measure, action);
  const project = () => t.project();

  /** An agreement, and its row in the agreement read model as its projection leaves it. */
  async function agreement(code: string, title: string): Promise<string> {
    const { id } = await commandBus.execute<ExecuteAgreementAction, WriteResult>(
      new ExecuteAgreementAction(
        null,
        {
          action: 'conclude-agreement',
          body: concludeAgreementBody.parse({
            code,
            title,
            parties: ['US', 'CN'],
            concludedAt: '2025-05-12T08:00:00Z',
            sources: [source],
          }),
        },
        { actor: 'editor' },
      ),
    );
    await dataSource.query(
      `INSERT INTO agreement_status (agreement_id, code, title, state, version, last_position)
       VALUES ($1, $2, $3, '{}', 1, 0)`,
      [id, code, title],
    );
    return id;
  }

  const measure = () => recordTestMeasure(act);

  async function suspend(
    measureId: string,
    body: { startsAt: string; endsAt: string; agreement?: string },
  ): Promise<string> {
    const { suspensionId } = await act(measureId, {
      action: 'schedule-suspension',
      body: { ...body, sources: [source] },
    });
    return suspensionId as string;
  }

  /** The current end alert of a suspension. */
  async function endAlert(suspensionId: string): Promise<EndRow> {
    const rows: EndRow[] = await dataSource.query(
      `SELECT id, end_version, state FROM alert_schedule
        WHERE suspension_id = $1 AND lead_time = 'PT0S' ORDER BY end_version DESC LIMIT 1`,
      [suspensionId],
    );
    return rows[0];
  }

  const payloads = async (messageKeys: string[]) => {
    const rows: { message_key: string; payload: { data: Record<string, unknown> } }[] =
      await dataSource.query(
        `SELECT d.message_key, m.payload FROM webhook_deliveries d
           JOIN webhook_messages m USING (message_key)
          WHERE d.subscription_id = $1 AND d.message_key = ANY($2)`,
        [subscriptionId, messageKeys],
      );
    return new Map(rows.map((row) => [row.message_key, row.payload.data]));
  };

  it('names the agreement behind the end that expires, and the suspension’s own beside it', async () => {
    const geneva = await agreement(`GENEVA-${randomUUID()}`, 'Geneva joint statement');
    const kualaLumpur = await agreement(`KL-${randomUUID()}`, 'Kuala Lumpur consensus');
    const measureId = await measure();
    const end = Date.now() + HOUR;
    const extended = await suspend(measureId, {
      startsAt: '2025-05-14T04:01:00Z',
      endsAt: new Date(end - HOUR / 2).toISOString(),
      agreement: geneva,
    });
    const extension = await act(measureId, {
      action: 'extend-suspension',
      suspensionId: extended,
      body: { endsAt: new Date(end).toISOString(), agreement: kualaLumpur, sources: [source] },
    });
    // Extended again by the United States alone: the end comes from no agreement.
    const unilateral = await suspend(measureId, {
      startsAt: '2025-05-14T04:01:00Z',
      endsAt: new Date(end - HOUR / 2).toISOString(),
      agreement: geneva,
    });
    await act(measureId, {
      action: 'extend-suspension',
      suspensionId: unilateral,
      body: { endsAt: new Date(end).toISOString(), sources: [source] },
    });
    await project();
    const alerts = [await endAlert(extended), await endAlert(unilateral)];

    clock.at = end + 1000;
    const fired = await app
      .get(AlertFirer)
      .fire(alerts[0].id, Number(alerts[0].end_version), 'PT0S');
    expect(fired).toMatchObject({ outcome: 'fired', lapse: 'recorded' });

    const ref = (id: string, code: string, title: string) => ({ id, code, title });
    const genevaRef = ref(geneva, expect.stringMatching(/^GENEVA-/), 'Geneva joint statement');
    const klRef = ref(kualaLumpur, expect.stringMatching(/^KL-/), 'Kuala Lumpur consensus');
    const sent = await payloads([
      `alert:${alerts[0].id}`,
      `alert:${alerts[0].id}:lapsed`,
      `alert:${alerts[1].id}`,
      `alert:${alerts[1].id}:lapsed`,
      `event:${extension.eventIds[0]}`,
    ]);
    const named = (agreementRef: unknown, suspensionRef: unknown) =>
      expect.objectContaining({
        agreement: agreementRef,
        suspension: expect.objectContaining({ agreement: suspensionRef }),
        links: expect.objectContaining({
          agreement: `/api/v1/agreements/${(agreementRef as { id: string }).id}`,
        }),
      });
    expect(Object.fromEntries(sent)).toEqual({
      [`alert:${alerts[0].id}`]: named(klRef, genevaRef),
      [`alert:${alerts[0].id}:lapsed`]: named(klRef, genevaRef),
      [`alert:${alerts[1].id}`]: named(genevaRef, genevaRef),
      [`alert:${alerts[1].id}:lapsed`]: named(genevaRef, genevaRef),
      [`event:${extension.eventIds[0]}`]: named(klRef, genevaRef),
    });
  });

  it('does not observe the fire lateness of an end that had passed when it was recorded', async () => {
    const lateness = register.getSingleMetric(
      'accord_alert_fire_lateness_seconds',
    ) as Histogram<'lead_time'>;
    const observed = async () => {
      const { values } = await lateness.get();
      const at = (name: string) =>
        values.find((v) => v.metricName === name && v.labels.lead_time === 'PT0S')?.value ?? 0;
      return {
        count: at('accord_alert_fire_lateness_seconds_count'),
        sum: at('accord_alert_fire_lateness_seconds_sum'),
      };
    };
    // Imported long after its end: it fires at once, to record the lapse.
    const past = await suspend(await measure(), {
      startsAt: '2025-05-01T00:00:00Z',
      endsAt: '2025-06-01T00:00:00Z',
    });
    const end = Date.now() + HOUR;
    const ahead = await suspend(await measure(), {
      startsAt: '2025-05-01T00:00:00Z',
      endsAt: new Date(end).toISOString(),
    });
    await project();
    const before = await observed();

    clock.at = end + 2000;
    const aheadAlert = await endAlert(ahead);
    await app.get(AlertFirer).fire(aheadAlert.id, Number(aheadAlert.end_version), 'PT0S');

    expect([(await endAlert(past)).state, (await endAlert(ahead)).state]).toEqual([
      'fired',
      'fired',
    ]);
    // One observation, two seconds late: the end that was already past is left out.
    const after = await observed();
    expect(after.count - before.count).toBe(1);
    expect(after.sum - before.sum).toBeCloseTo(2, 0);
  });
});
