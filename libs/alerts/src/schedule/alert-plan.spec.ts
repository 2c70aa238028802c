import { minusDuration, type Measure, type Suspension } from '@app/domain';
import { alertId, planAlerts, type PlanInput, type ScheduledEnd } from './alert-plan';

const MEASURE_ID = '0b7c6a52-6f0e-4c1e-9a57-2d1f4c3b9e10';
const LEAD_TIMES = ['P90D', 'P30D', 'P7D', 'P1D', 'PT0S'];

function suspension(overrides: Partial<Suspension> = {}): Suspension {
  return {
    id: 'S1',
    state: 'active',
    startsAt: '2025-11-10T05:01:00.000Z',
    endsAt: '2026-11-10T05:01:00.000Z',
    reinstatesAutomatically: true,
    scheduledAt: '2025-11-10T05:01:00.000Z',
    extensions: [],
    sources: [],
    ...overrides,
  };
}

function measure(suspensions: Suspension[], overrides: Partial<Measure> = {}): Measure {
  return {
    id: MEASURE_ID,
    title: 'Reciprocal tariff on products of China',
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rateHistory: [],
    scopeHistory: [],
    timeZone: 'America/New_York',
    respondsTo: [],
    suspensions,
    exclusions: [],
    claims: [],
    sources: [],
    ...overrides,
  };
}

function given(current: ScheduledEnd[] = []) {
  return {
    when(input: Omit<PlanInput, 'current' | 'measureId' | 'leadTimes'>) {
      return planAlerts({
        measureId: MEASURE_ID,
        leadTimes: LEAD_TIMES,
        current: new Map(current.map((end) => [end.suspensionId, end])),
        ...input,
      });
    },
  };
}

const recordedAt = new Date('2025-11-10T12:00:00Z');
const liveEnd: ScheduledEnd = {
  suspensionId: 'S1',
  endAt: '2026-11-10T05:01:00.000Z',
  endVersion: 3,
  live: true,
};

describe('planAlerts', () => {
  it('schedules every lead time before a known end, counted on the measure’s clock', () => {
    const plan = given().when({ measure: measure([suspension()]), version: 3, recordedAt });

    expect(plan.cancel).toEqual([]);
    expect(plan.ends).toEqual([liveEnd]);
    expect(plan.alerts.map((a) => [a.leadTime, a.fireAt, a.state])).toEqual([
      // 2026-11-10 00:01 in New York (EST); 90 days earlier is 2026-08-12 00:01 EDT.
      ['P90D', '2026-08-12T04:01:00.000Z', 'pending'],
      ['P30D', '2026-10-11T04:01:00.000Z', 'pending'],
      ['P7D', '2026-11-03T05:01:00.000Z', 'pending'],
      ['P1D', '2026-11-09T05:01:00.000Z', 'pending'],
      ['PT0S', '2026-11-10T05:01:00.000Z', 'pending'],
    ]);
    expect(plan.alerts[0].id).toBe(alertId(MEASURE_ID, 'S1', 3, 'P90D'));
  });

  it('skips lead times already past when the end became known, but keeps the end itself', () => {
    const plan = given().when({
      measure: measure([suspension()]),
      version: 3,
      recordedAt: new Date('2026-11-05T00:00:00Z'),
    });

    expect(plan.alerts.map((a) => [a.leadTime, a.state])).toEqual([
      ['P90D', 'skipped'],
      ['P30D', 'skipped'],
      ['P7D', 'skipped'],
      ['P1D', 'pending'],
      ['PT0S', 'pending'],
    ]);
  });

  it('fires the end of a suspension recorded after it ended (that records the lapse)', () => {
    const plan = given().when({
      measure: measure([suspension()]),
      version: 3,
      recordedAt: new Date('2027-01-01T00:00:00Z'),
    });

    expect(plan.alerts.filter((a) => a.state === 'pending').map((a) => a.leadTime)).toEqual([
      'PT0S',
    ]);
  });

  it('cancels the old end’s alerts and schedules the new ones when the end moves', () => {
    const extended = suspension({ endsAt: '2027-11-10T05:01:00.000Z' });
    const plan = given([liveEnd]).when({ measure: measure([extended]), version: 7, recordedAt });

    expect(plan.cancel).toEqual([{ ...liveEnd, reason: 'end-moved' }]);
    expect(plan.ends).toEqual([{ ...liveEnd, endAt: '2027-11-10T05:01:00.000Z', endVersion: 7 }]);
    expect(plan.alerts).toHaveLength(5);
    expect(plan.alerts.every((a) => a.endVersion === 7)).toBe(true);
  });

  it('changes nothing for an event that leaves the end where it was', () => {
    const plan = given([liveEnd]).when({
      measure: measure([suspension()], { summary: 'amended' }),
      version: 4,
      recordedAt,
    });

    expect(plan).toEqual({ cancel: [], ends: [], alerts: [] });
  });

  it.each([
    ['lifted', measure([suspension({ state: 'lifted', liftedAt: '2026-01-01T00:00:00.000Z' })])],
    ['revoked', measure([suspension()], { revokedAt: '2026-06-01T00:00:00.000Z' })],
    // Revoked at the end's very instant: no measure is left to lapse into force then.
    ['revoked', measure([suspension()], { revokedAt: '2026-11-10T05:01:00.000Z' })],
    ['retracted', measure([])],
    ['retracted', null],
  ])('cancels the pending alerts of a suspension that was %s', (reason, after) => {
    const plan = given([liveEnd]).when({ measure: after, version: 5, recordedAt });

    expect(plan.cancel).toEqual([{ ...liveEnd, reason }]);
    expect(plan.ends).toEqual([{ ...liveEnd, live: false }]);
    expect(plan.alerts).toEqual([]);
  });

  it('leaves the alerts of a lapsed suspension alone: they were all due by the lapse', () => {
    const lapsed = suspension({ state: 'lapsed', lapsedAt: '2026-11-10T05:01:00.000Z' });
    const plan = given([liveEnd]).when({ measure: measure([lapsed]), version: 9, recordedAt });

    expect(plan).toEqual({ cancel: [], ends: [], alerts: [] });
  });

  it('cancels the alerts of a continuation retracted after the lapse: the lapsed end is back, with nothing to fire', () => {
    const continued: ScheduledEnd = {
      ...liveEnd,
      endAt: '2027-11-10T05:01:00.000Z',
      endVersion: 12,
    };
    const lapsed = suspension({ state: 'lapsed', lapsedAt: '2026-11-10T05:01:00.000Z' });
    const plan = given([continued]).when({ measure: measure([lapsed]), version: 14, recordedAt });

    expect(plan.cancel).toEqual([{ ...continued, reason: 'end-moved' }]);
    expect(plan.ends).toEqual([{ ...liveEnd, endVersion: 14 }]);
    expect(plan.alerts).toEqual([]);
  });

  it('keeps the recorded lapse of an end that a continuation moved, and only then', () => {
    const revived = suspension({ state: 'active', endsAt: '2027-11-10T05:01:00.000Z' });
    const lapsed = suspension({ state: 'lapsed', lapsedAt: '2026-11-10T05:01:00.000Z' });
    const after = { measure: measure([revived]), version: 12, recordedAt };

    expect(given([liveEnd]).when({ ...after, previous: measure([lapsed]) }).cancel).toEqual([
      { ...liveEnd, reason: 'end-moved', keepRecordedLapse: true },
    ]);
    // Not lapsed before (an extension in force by the end retracted the lapse first).
    expect(given([liveEnd]).when({ ...after, previous: measure([suspension()]) }).cancel).toEqual([
      { ...liveEnd, reason: 'end-moved' },
    ]);
  });

  it('schedules the new end of a lapsed suspension that a late-recorded extension revived', () => {
    const revived = suspension({ state: 'active', endsAt: '2027-11-10T05:01:00.000Z' });
    const plan = given([liveEnd]).when({
      measure: measure([revived]),
      version: 12,
      recordedAt: new Date('2026-11-12T00:00:00Z'),
    });

    expect(plan.cancel).toEqual([{ ...liveEnd, reason: 'end-moved' }]);
    expect(plan.alerts.map((a) => [a.leadTime, a.endVersion, a.state])).toEqual([
      ['P90D', 12, 'pending'],
      ['P30D', 12, 'pending'],
      ['P7D', 12, 'pending'],
      ['P1D', 12, 'pending'],
      ['PT0S', 12, 'pending'],
    ]);
  });

  it('schedules nothing while the end is unknown (a conditional start with a duration)', () => {
    const waiting = suspension({ state: 'scheduled', startsAt: undefined, endsAt: undefined });
    const plan = given().when({ measure: measure([waiting]), version: 2, recordedAt });

    expect(plan).toEqual({ cancel: [], ends: [], alerts: [] });
  });

  it('schedules again when a retraction brings an end back', () => {
    const plan = given([{ ...liveEnd, live: false }]).when({
      measure: measure([suspension()]),
      version: 11,
      recordedAt,
    });

    expect(plan.cancel).toEqual([]);
    expect(plan.ends).toEqual([{ ...liveEnd, endVersion: 11 }]);
    expect(plan.alerts.map((a) => a.endVersion)).toEqual([11, 11, 11, 11, 11]);
  });

  it.each(['America/New_York', 'Asia/Shanghai', 'Europe/London', 'UTC'])(
    'counts lead times back exactly as the domain’s minusDuration does (%s)',
    (timeZone) => {
      const leadTimes = ['P1Y', 'P3M', 'P1M', 'P90D', 'P2W', 'PT36H', 'PT90M', 'PT0S'];
      for (const endsAt of ['2026-11-10T05:01:00.000Z', '2027-03-28T01:30:00.000Z']) {
        const plan = planAlerts({
          measureId: MEASURE_ID,
          measure: measure([suspension({ endsAt })], { timeZone }),
          current: new Map(),
          version: 1,
          recordedAt,
          leadTimes,
        });
        expect(plan.alerts.map((a) => a.fireAt)).toEqual(
          leadTimes.map((lead) => minusDuration(endsAt, lead, timeZone)),
        );
      }
    },
  );
});
