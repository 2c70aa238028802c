import type { Source } from '@app/domain';
import {
  concludeAgreementBody,
  recordMeasureBody,
  type MeasureAction,
  type RecordMeasureBody,
  type WriteResult,
} from '@app/trade';
import { uniqueSuffix, type ProjectionTestApp } from './projection-test-app';

/**
 * Writes the projections' integration tests make through the real command handlers, so that a
 * test reads as the facts it sets up. Every measure and agreement gets a code of its own: tests
 * share the bundled dataset and may run in any order.
 */

/** The source every test fact cites. */
export const notice: Source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  documentNumber: 'EO 99997',
  official: true,
  confidence: 'H',
};

/** A 10% US duty on China from 2024-03-01, coded `<prefix>-<unique suffix>`. */
export function tariff(
  prefix: string,
  overrides: Partial<RecordMeasureBody> = {},
): RecordMeasureBody {
  const code = `${prefix}-${uniqueSuffix()}`;
  return recordMeasureBody.parse({
    code,
    title: `Test duty (${code})`,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rate: { type: 'ad-valorem', percent: 10 },
    timeZone: 'America/New_York',
    effectiveAt: '2024-03-01T05:00:00Z',
    sources: [notice],
    ...overrides,
  });
}

/**
 * Recording instants are kept to the millisecond: after a pause, the next write is recorded at a
 * later instant, so that there is a moment at which the earlier one was known and it was not.
 */
export const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

/** Records a `tariff()` measure; returns its id. */
export async function recordTariff(
  t: ProjectionTestApp,
  prefix: string,
  overrides: Partial<RecordMeasureBody> = {},
): Promise<string> {
  return (await t.measure(null, { action: 'record-measure', body: tariff(prefix, overrides) })).id;
}

/** Sets the measure's ad-valorem rate from `effectiveAt`; returns the amendment's event id. */
export async function amendRate(
  t: ProjectionTestApp,
  measure: string,
  percent: number,
  effectiveAt: string,
): Promise<string> {
  const result = await t.measure(measure, {
    action: 'amend-measure',
    body: { rate: { type: 'ad-valorem', percent }, effectiveAt, sources: [notice] },
  });
  return result.eventIds[0];
}

type SuspensionBody = Extract<MeasureAction, { action: 'schedule-suspension' }>['body'];

/** Schedules a suspension of the measure, citing `notice`. */
export function scheduleSuspension(
  t: ProjectionTestApp,
  measure: string,
  body: Omit<SuspensionBody, 'sources'>,
): Promise<WriteResult> {
  return t.measure(measure, {
    action: 'schedule-suspension',
    body: { ...body, sources: [notice] },
  });
}

/** Retracts an event of a measure's or an agreement's stream; returns the retraction's id. */
export async function retract(
  t: ProjectionTestApp,
  stream: { measure: string } | { agreement: string },
  eventId: string,
  reason = 'Reconsidered',
): Promise<string> {
  const action = {
    action: 'retract-event' as const,
    body: { eventId, reason, sources: [notice] },
  };
  const result =
    'measure' in stream
      ? await t.measure(stream.measure, action)
      : await t.agreement(stream.agreement, action);
  return result.eventIds[0];
}

/** Revokes the measure from `effectiveAt`, after a pause; returns the revocation's event id. */
export async function revoke(
  t: ProjectionTestApp,
  measure: string,
  effectiveAt: string,
): Promise<string> {
  await pause();
  const written = await t.measure(measure, {
    action: 'revoke-measure',
    body: { effectiveAt, sources: [notice] },
  });
  return written.eventIds[0];
}

/**
 * Records China's claim about the measure, dated 2024-08-01, after a pause: a fact a revocation
 * leaves on the timeline. Returns the claim's event id.
 */
export async function claim(
  t: ProjectionTestApp,
  measure: string,
  statement: string,
): Promise<string> {
  await pause();
  const result = await t.measure(measure, {
    action: 'record-claim',
    body: { party: 'CN', statement, effectiveAt: '2024-08-01T04:00:00Z', sources: [notice] },
  });
  return result.eventIds[0];
}

/**
 * A US–China agreement concluded on 2024-02-01 whose commitment (China buys soybeans) was
 * fulfilled at `fulfilledAt`.
 */
export async function fulfilledCommitment(
  t: ProjectionTestApp,
  prefix: string,
  fulfilledAt: string,
) {
  const agreement = (
    await t.agreement(null, {
      action: 'conclude-agreement',
      body: concludeAgreementBody.parse({
        code: `${prefix}-${uniqueSuffix()}`,
        title: 'Test arrangement',
        parties: ['US', 'CN'],
        venue: 'Oslo',
        concludedAt: '2024-02-01T08:00:00Z',
        sources: [notice],
      }),
    })
  ).id;
  const commitment = await t.agreement(agreement, {
    action: 'record-commitment',
    body: { obligor: 'CN', kind: 'purchase', text: 'Buy soybeans', sources: [notice] },
  });
  const statusChange = await t.agreement(agreement, {
    action: 'change-commitment-status',
    commitmentId: commitment.commitmentId ?? '',
    body: { status: 'fulfilled', effectiveAt: fulfilledAt, sources: [notice] },
  });
  return {
    agreement,
    commitment: commitment.eventIds[0],
    statusChange: statusChange.eventIds[0],
  };
}

/** When the event was recorded (transaction time). */
export async function recordedAtOf(
  t: ProjectionTestApp,
  streamId: string,
  eventId: string,
): Promise<Date> {
  const event = (await t.store.readStream(streamId)).find(
    (candidate) => candidate.eventId === eventId,
  );
  if (!event) throw new Error(`no event ${eventId} in ${streamId}`);
  return event.recordedAt;
}
