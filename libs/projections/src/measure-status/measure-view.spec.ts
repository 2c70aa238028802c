import {
  decideAll,
  type DecisionContext,
  type Measure,
  type MeasureCommand,
  measureDecider,
  type MeasureState,
  type Source,
} from '@app/domain';
import { toMeasureSummary, toMeasureView } from './measure-view';

// What a client reads of a measure revoked from 1 June after facts were recorded, in January,
// for dates past it: a rate amendment, an exclusion and a suspension starting in July.
const REVOKED_AT = '2026-06-01T04:00:00.000Z';
const sources: Source[] = [{ issuer: 'Federal Register', title: 'Notice', official: true }];

function context(): DecisionContext {
  let next = 0;
  return {
    now: '2026-01-15T00:00:00.000Z',
    actor: 'spec',
    newId: () => `00000000-0000-4000-8000-${String((next += 1)).padStart(12, '0')}`,
  };
}

const ahead: MeasureCommand[] = [
  {
    type: 'RecordMeasure',
    data: {
      measureId: '00000000-0000-4000-8000-00000000000a',
      measure: {
        code: 'X-DUTY',
        title: 'An additional duty',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 34 },
        timeZone: 'America/New_York',
      },
      effectiveAt: '2026-01-01T05:00:00.000Z',
      sources,
    },
  },
  {
    type: 'ScheduleSuspension',
    data: {
      suspensionId: 's-across',
      startsAt: '2026-02-01T05:00:00.000Z',
      endsAt: '2026-09-01T04:00:00.000Z',
      part: { percentPoints: 10 },
      sources,
    },
  },
  {
    type: 'ScheduleSuspension',
    data: {
      suspensionId: 's-after',
      startsAt: '2026-07-01T04:00:00.000Z',
      endsAt: '2026-10-01T04:00:00.000Z',
      sources,
    },
  },
  {
    type: 'ScheduleSuspension',
    data: {
      suspensionId: 's-lifted-after',
      startsAt: '2026-03-01T05:00:00.000Z',
      endsAt: '2026-12-01T05:00:00.000Z',
      part: { percentPoints: 5 },
      sources,
    },
  },
  {
    type: 'AmendMeasure',
    data: {
      rate: { type: 'ad-valorem', percent: 50 },
      effectiveAt: '2026-07-15T04:00:00.000Z',
      sources,
    },
  },
  {
    type: 'GrantExclusion',
    data: {
      exclusionId: 'x-after',
      description: 'Pharmaceuticals',
      effectiveAt: '2026-08-01T04:00:00.000Z',
      sources,
    },
  },
];
const decided = (commands: MeasureCommand[], from = measureDecider.initialState()) =>
  decideAll(measureDecider, commands, from, context()).state;
const known = decided(ahead);
const revoked = decided(
  [
    { type: 'RevokeMeasure', data: { effectiveAt: REVOKED_AT, sources } },
    // Liftings are not checked against the revocation: one dated after it lifts nothing.
    {
      type: 'LiftSuspension',
      data: { suspensionId: 's-lifted-after', effectiveAt: '2026-08-01T04:00:00.000Z', sources },
    },
  ],
  known,
);

const view = (state: MeasureState, asOf: string) =>
  toMeasureView(state.measure as Measure, new Date(asOf), new Date(), 1, {
    respondsTo: [],
    countermeasures: [],
  });
const onAsOf = (state: MeasureState, asOf: string) =>
  Object.fromEntries(view(state, asOf).suspensions.map((s) => [s.id, s.onAsOf.state]));

describe('a measure revoked after facts were recorded for dates past the revocation', () => {
  it('says a suspension that was to start after the revocation never started', () => {
    for (const asOf of ['2026-06-15T00:00:00Z', '2026-07-01T04:00:00Z', '2026-11-01T00:00:00Z']) {
      expect(onAsOf(revoked, asOf)['s-after']).toBe('not-started');
    }
  });

  it('says the suspensions running at the revocation ended then, a later lifting lifting nothing', () => {
    expect(onAsOf(revoked, '2026-05-31T00:00:00Z')).toEqual({
      's-across': 'in-effect',
      's-after': 'not-started',
      's-lifted-after': 'in-effect',
    });
    for (const asOf of [REVOKED_AT, '2026-08-15T00:00:00Z']) {
      expect(onAsOf(revoked, asOf)).toEqual({
        's-across': 'ended',
        's-after': 'not-started',
        's-lifted-after': 'ended',
      });
    }
  });

  it('shows no exclusion in effect and the rate the measure ended with, in the detail and the list', () => {
    const detail = view(revoked, '2026-08-15T00:00:00Z');
    expect(detail).toMatchObject({
      status: 'revoked',
      rate: null,
      fullRate: { type: 'ad-valorem', percent: 34 },
      activeExclusions: [],
    });
    expect(detail.exclusions.map((e) => e.id)).toEqual(['x-after']);
    expect(
      toMeasureSummary(revoked.measure as Measure, new Date('2026-08-15T00:00:00Z'), 1),
    ).toMatchObject({ status: 'revoked', rate: null, fullRate: { percent: 34 } });
  });

  it('shows every one of those facts as known before the revocation was recorded', () => {
    expect(onAsOf(known, '2026-08-15T00:00:00Z')).toEqual({
      's-across': 'in-effect',
      's-after': 'in-effect',
      's-lifted-after': 'in-effect',
    });
    expect(view(known, '2026-08-15T00:00:00Z')).toMatchObject({
      status: 'suspended',
      fullRate: { type: 'ad-valorem', percent: 50 },
      activeExclusions: [{ id: 'x-after', description: 'Pharmaceuticals' }],
    });
  });
});
