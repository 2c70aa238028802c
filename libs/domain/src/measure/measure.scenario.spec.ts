// The US reciprocal tariff on China, replayed from the timeline (rows 5, 11–14, 29), simplified
// to one measure at 34% from 2025-04-09.
import { decideAll, foldEvents } from '../shared/event';
import type { Source } from '../shared/source';
import { testContext } from '../testing/decider-spec';
import type { MeasureCommand } from './measure.commands';
import { measureDecider } from './measure.decide';
import { measureStatusAt } from './measure.status';

const eo = (number: number): Source => ({
  issuer: 'The White House',
  title: `Executive Order ${number}`,
  documentNumber: `EO ${number}`,
  official: true,
  confidence: 'H',
});

const commands: MeasureCommand[] = [
  {
    type: 'RecordMeasure',
    data: {
      measureId: 'us-reciprocal',
      measure: {
        code: 'us-reciprocal-cn',
        title: 'Reciprocal tariff on products of China',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        legalBasis: 'IEEPA',
        instrument: 'EO 14257',
        rate: { type: 'ad-valorem', percent: 34 },
        scope: { hsCodes: ['9903.01.63'] },
        timeZone: 'America/New_York',
      },
      announcedAt: '2025-04-02T16:00:00-04:00',
      effectiveAt: '2025-04-09T00:01:00-04:00',
      sources: [eo(14257)],
    },
  },
  {
    type: 'ScheduleSuspension',
    data: {
      suspensionId: 'geneva-24',
      startsAt: '2025-05-14T04:01:00Z',
      duration: 'P90D',
      part: { percentPoints: 24 },
      agreement: 'geneva',
      sources: [eo(14298)],
    },
  },
  {
    type: 'ExtendSuspension',
    data: {
      suspensionId: 'geneva-24',
      endsAt: '2025-11-10T05:01:00Z',
      effectiveAt: '2025-08-12T04:01:00Z',
      sources: [eo(14334)],
    },
  },
  {
    type: 'ExtendSuspension',
    data: {
      suspensionId: 'geneva-24',
      duration: 'P1Y',
      agreement: 'kuala-lumpur',
      effectiveAt: '2025-11-04T00:00:00Z',
      sources: [eo(14358)],
    },
  },
];

describe('US reciprocal tariff on China', () => {
  const { events, state } = decideAll(
    measureDecider,
    commands,
    measureDecider.initialState(),
    testContext({ now: '2025-11-07T00:00:00Z' }),
  );

  it('records the facts as sourced events', () => {
    expect(events.map((event) => event.type)).toEqual([
      'MeasureAnnounced',
      'MeasureImplemented',
      'SuspensionScheduled',
      'SuspensionStarted',
      'SuspensionExtended',
      'SuspensionExtended',
    ]);
    expect(events.every((event) => event.data.sources.length > 0)).toBe(true);
  });

  it('ends the 90-day suspension at 2025-08-12 00:01 EDT', () => {
    expect(events[3].data).toMatchObject({ endsAt: '2025-08-12T04:01:00.000Z' });
  });

  it('extends it one year to 2026-11-10 00:01 EST', () => {
    expect(events[5].data).toMatchObject({
      endsAt: '2026-11-10T05:01:00.000Z',
      previousEndsAt: '2025-11-10T05:01:00.000Z',
    });
    expect(state.measure?.suspensions[0].endsAt).toBe('2026-11-10T05:01:00.000Z');
  });

  it('is partially suspended on 2026-06-01: 10% in force, 24 points suspended', () => {
    expect(measureStatusAt(state, '2026-06-01T00:00:00Z')).toMatchObject({
      status: 'partially-suspended',
      fullRate: { type: 'ad-valorem', percent: 34 },
      rateInForce: { type: 'ad-valorem', percent: 10 },
      suspendedPart: { percentPoints: 24 },
      activeSuspension: {
        id: 'geneva-24',
        startsAt: '2025-05-14T04:01:00.000Z',
        endsAt: '2026-11-10T05:01:00.000Z',
        agreement: 'geneva',
      },
    });
  });

  it('is back in force at 34% on 2026-12-01, with no further extension', () => {
    expect(measureStatusAt(state, '2026-12-01T00:00:00Z')).toMatchObject({
      status: 'in-force',
      rateInForce: { type: 'ad-valorem', percent: 34 },
      suspendedPart: null,
      activeSuspension: null,
    });
  });

  it('switches exactly at the exclusive end, 12:01 a.m. EST on 10 November 2026', () => {
    expect(measureStatusAt(state, '2026-11-10T05:00:59.999Z')?.status).toBe('partially-suspended');
    expect(measureStatusAt(state, '2026-11-10T00:01:00-05:00')?.status).toBe('in-force');
  });

  it('shows, looking back, the end in force on that date rather than the latest end', () => {
    // On 1 June 2025 the Geneva suspension was to end on 12 August; EO 14334 (effective
    // 12 August) and EO 14358 (signed 4 November) had not taken effect yet.
    expect(measureStatusAt(state, '2025-06-01T00:00:00Z')?.activeSuspension?.endsAt).toBe(
      '2025-08-12T04:01:00.000Z',
    );
    expect(measureStatusAt(state, '2025-09-01T00:00:00Z')?.activeSuspension?.endsAt).toBe(
      '2025-11-10T05:01:00.000Z',
    );
    expect(measureStatusAt(state, '2025-11-05T00:00:00Z')?.activeSuspension?.endsAt).toBe(
      '2026-11-10T05:01:00.000Z',
    );
  });

  it('was in force at the full 34% between the implementation and Geneva', () => {
    expect(measureStatusAt(state, '2025-05-01T00:00:00Z')).toMatchObject({
      status: 'in-force',
      rateInForce: { type: 'ad-valorem', percent: 34 },
    });
  });

  it('rebuilds the same state from the stored (JSON) events', () => {
    const stored = JSON.parse(JSON.stringify(events));
    expect(foldEvents(measureDecider, stored)).toEqual(state);
  });

  it('lets the expiry worker record the lapse once the end is reached', () => {
    const lapse = measureDecider.decide(
      { type: 'LapseSuspension', data: { suspensionId: 'geneva-24' } },
      state,
      testContext({ now: '2026-11-10T05:01:00Z' }),
    );
    expect(lapse).toEqual([
      expect.objectContaining({
        type: 'SuspensionLapsed',
        data: {
          suspensionId: 'geneva-24',
          effectiveAt: '2026-11-10T05:01:00.000Z',
          sources: [eo(14358)],
        },
      }),
    ]);
  });
});
