import { decideAll, foldEvents } from '../shared/event';
import { type GivenEvent, testContext, withMetadata } from '../testing/decider-spec';
import { implemented, sources, suspended, usReciprocal } from '../testing/fixtures';
import { measureDecider } from './measure.decide';
import type { MeasureCommand } from './measure.commands';
import type { MeasureEvent } from './measure.events';
import { coversOn } from './measure.state';
import { fullRateAt, measureStatusAt, suspensionsInEffectAt } from './measure.status';

const fold = (events: GivenEvent<MeasureEvent>[]) =>
  foldEvents(measureDecider, withMetadata<MeasureEvent>(events));

describe('measureStatusAt', () => {
  it('follows a measure from threat to revocation', () => {
    const state = fold([
      {
        type: 'MeasureThreatened',
        data: {
          measureId: 'm',
          measure: usReciprocal,
          effectiveAt: '2025-03-01T00:00:00.000Z',
          sources,
        },
      },
      {
        type: 'MeasureAnnounced',
        data: { measureId: 'm', effectiveAt: '2025-04-02T20:00:00.000Z', sources },
      },
      {
        type: 'MeasureImplemented',
        data: { measureId: 'm', effectiveAt: '2025-04-09T04:01:00.000Z', sources },
      },
      { type: 'MeasureRevoked', data: { effectiveAt: '2025-12-01T05:00:00.000Z', sources } },
    ]);
    const statusAt = (asOf: string) => measureStatusAt(state, asOf)?.status ?? null;
    expect(statusAt('2025-02-01T00:00:00Z')).toBeNull();
    expect(statusAt('2025-03-01T00:00:00Z')).toBe('threatened');
    expect(statusAt('2025-04-05T00:00:00Z')).toBe('announced');
    expect(statusAt('2025-04-09T04:01:00Z')).toBe('in-force');
    expect(statusAt('2025-12-01T05:00:00Z')).toBe('revoked');
  });

  it('gives no rate in force before the measure is in force', () => {
    const view = measureStatusAt(fold([implemented()]), '2025-04-01T00:00:00Z');
    expect(view).toBeNull();
  });

  it('applies a phased schedule of a specific rate', () => {
    const state = fold([
      implemented(
        {
          kind: 'port-fee',
          rate: {
            type: 'specific',
            amount: 400,
            currency: 'CNY',
            unit: 'net ton',
            schedule: [{ from: '2026-04-16T16:00:00.000Z', amount: 640 }],
          },
        },
        '2025-10-13T16:00:00.000Z',
      ),
    ]);
    expect(measureStatusAt(state, '2026-04-16T15:59:59Z')?.rateInForce).toEqual({
      type: 'specific',
      amount: 400,
      currency: 'CNY',
      unit: 'net ton',
    });
    expect(measureStatusAt(state, '2026-04-16T16:00:00Z')?.rateInForce).toEqual({
      type: 'specific',
      amount: 640,
      currency: 'CNY',
      unit: 'net ton',
    });
  });

  it('shows a whole suspension as suspended with nothing in force', () => {
    const state = fold([implemented(), ...suspended({ part: undefined })]);
    expect(measureStatusAt(state, '2025-06-01T00:00:00Z')).toMatchObject({
      status: 'suspended',
      fullRate: { type: 'ad-valorem', percent: 34 },
      rateInForce: { type: 'ad-valorem', percent: 0 },
      suspendedPart: { percentPoints: 34 },
      activeSuspension: { id: 's-geneva', endsAt: '2025-08-12T04:01:00.000Z' },
    });
  });

  it('treats the end as exclusive', () => {
    const state = fold([implemented(), ...suspended()]);
    expect(measureStatusAt(state, '2025-08-12T04:00:59.999Z')?.status).toBe('partially-suspended');
    expect(measureStatusAt(state, '2025-08-12T04:01:00Z')?.status).toBe('in-force');
  });

  it('ends a lifted suspension at the lifting', () => {
    const state = fold([
      implemented(),
      ...suspended(),
      {
        type: 'SuspensionLifted',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T00:00:00.000Z', sources },
      },
    ]);
    expect(measureStatusAt(state, '2025-06-30T00:00:00Z')?.activeSuspension?.endsAt).toBe(
      '2025-07-01T00:00:00.000Z',
    );
    expect(measureStatusAt(state, '2025-07-01T00:00:00Z')?.status).toBe('in-force');
  });

  it('ignores a conditional suspension that has not started', () => {
    const state = fold([
      implemented(),
      ...suspended({
        startsAt: undefined,
        endsAt: undefined,
        startsWhen: { measure: 'm', suspension: 's' },
      }),
    ]);
    expect(measureStatusAt(state, '2025-06-01T00:00:00Z')).toMatchObject({
      status: 'in-force',
      activeSuspension: null,
      suspendedPart: null,
    });
  });

  it('adds up partial suspensions that overlap', () => {
    const state = fold([
      implemented(),
      ...suspended(),
      ...suspended({
        suspensionId: 's-extra',
        part: { percentPoints: 10 },
        startsAt: '2025-06-01T00:00:00.000Z',
      }),
    ]);
    expect(measureStatusAt(state, '2025-07-01T00:00:00Z')).toMatchObject({
      status: 'suspended',
      rateInForce: { type: 'ad-valorem', percent: 0 },
      suspendedPart: { percentPoints: 34 },
    });
    expect(
      measureStatusAt(state, '2025-07-01T00:00:00Z')?.activeSuspensions.map((s) => s.id),
    ).toEqual(['s-geneva', 's-extra']);
  });

  it('lists exclusions in effect', () => {
    const state = fold([
      implemented(),
      {
        type: 'ExclusionGranted',
        data: {
          exclusionId: 'x',
          description: 'cranes',
          endsAt: '2025-11-29T05:01:00.000Z',
          effectiveAt: '2025-08-29T04:01:00.000Z',
          sources,
        },
      },
    ]);
    expect(measureStatusAt(state, '2025-09-01T00:00:00Z')?.activeExclusions).toEqual([
      { id: 'x', description: 'cranes', endsAt: '2025-11-29T05:01:00.000Z' },
    ]);
    expect(measureStatusAt(state, '2025-11-29T05:01:00Z')?.activeExclusions).toEqual([]);
  });

  it('accepts a Measure and a Date', () => {
    const { measure } = fold([implemented()]);
    expect(measureStatusAt(measure!, new Date('2025-05-01T00:00:00Z'))?.asOf).toBe(
      '2025-05-01T00:00:00.000Z',
    );
  });

  it('returns null for an empty stream', () => {
    expect(measureStatusAt(fold([]), '2025-05-01T00:00:00Z')).toBeNull();
  });
});

describe('an extension retracted after a later one was recorded', () => {
  const context = testContext({ now: '2026-12-01T00:00:00Z' });
  const extension = (endsAt: string, effectiveAt: string): MeasureCommand => ({
    type: 'ExtendSuspension',
    data: { suspensionId: 's', endsAt, effectiveAt, sources },
  });
  const recorded = decideAll(
    measureDecider,
    [
      {
        type: 'RecordMeasure',
        data: {
          measureId: 'm',
          measure: { ...usReciprocal, rate: { type: 'ad-valorem', percent: 40 } },
          effectiveAt: '2026-01-01T00:00:00Z',
          sources,
        },
      },
      {
        type: 'ScheduleSuspension',
        data: {
          suspensionId: 's',
          startsAt: '2026-02-01T00:00:00Z',
          endsAt: '2027-02-01T00:00:00Z',
          sources,
        },
      },
      extension('2027-05-01T00:00:00Z', '2026-11-01T00:00:00Z'),
      extension('2027-06-01T00:00:00Z', '2027-03-01T00:00:00Z'),
    ],
    measureDecider.initialState(),
    context,
  );
  const first = recorded.events.find(
    (event) => event.type === 'SuspensionExtended' && event.data.endsAt?.startsWith('2027-05'),
  );
  const { state } = decideAll(
    measureDecider,
    [
      {
        type: 'RetractEvent',
        data: { eventId: first!.metadata.eventId, reason: 'Never decided', sources },
      },
    ],
    recorded.state,
    context,
  );

  it('no longer carries the suspension to the retracted end', () => {
    // The first end stands until the later extension takes effect: in force in between.
    const between = measureStatusAt(state, '2027-02-15T00:00:00Z');
    expect(between).toMatchObject({ status: 'in-force', activeSuspension: null });
    expect(between?.rateInForce).toEqual({ type: 'ad-valorem', percent: 40 });
    expect(measureStatusAt(state, '2027-01-15T00:00:00Z')).toMatchObject({
      status: 'suspended',
      activeSuspension: { id: 's', endsAt: '2027-02-01T00:00:00.000Z' },
    });
    expect(measureStatusAt(state, '2027-03-15T00:00:00Z')).toMatchObject({
      status: 'suspended',
      activeSuspension: { id: 's', endsAt: '2027-06-01T00:00:00.000Z' },
    });
  });
});

describe('a measure revoked after facts were recorded for dates past the revocation', () => {
  // All recorded in January, while the measure stood; the revocation from 1 June comes last,
  // so none of these was refused: from its date on, none of them ever took effect.
  const REVOKED_AT = '2026-06-01T04:00:00.000Z';
  const context = testContext({ now: '2026-01-15T00:00:00Z' });
  const ahead: MeasureCommand[] = [
    {
      type: 'RecordMeasure',
      data: {
        measureId: 'm',
        measure: {
          ...usReciprocal,
          rate: {
            type: 'ad-valorem',
            percent: 34,
            schedule: [{ from: '2026-09-01T04:00:00Z', percent: 40 }],
          },
        },
        effectiveAt: '2026-01-01T05:00:00Z',
        sources,
      },
    },
    {
      type: 'ScheduleSuspension',
      data: {
        suspensionId: 's-across',
        startsAt: '2026-02-01T05:00:00Z',
        endsAt: '2026-09-01T04:00:00Z',
        part: { percentPoints: 10 },
        sources,
      },
    },
    {
      type: 'ScheduleSuspension',
      data: {
        suspensionId: 's-after',
        startsAt: '2026-07-01T04:00:00Z',
        endsAt: '2026-10-01T04:00:00Z',
        sources,
      },
    },
    {
      type: 'AmendMeasure',
      data: {
        rate: { type: 'ad-valorem', percent: 50 },
        scope: { description: 'Products of China, Hong Kong included', inclusions: ['HK'] },
        effectiveAt: '2026-07-15T04:00:00Z',
        sources,
      },
    },
    {
      type: 'GrantExclusion',
      data: {
        exclusionId: 'x-before',
        description: 'Cranes',
        effectiveAt: '2026-03-01T05:00:00Z',
        sources,
      },
    },
    {
      type: 'GrantExclusion',
      data: { exclusionId: 'x-at', description: 'Vessels', effectiveAt: REVOKED_AT, sources },
    },
    {
      type: 'GrantExclusion',
      data: {
        exclusionId: 'x-after',
        description: 'Pharmaceuticals',
        effectiveAt: '2026-08-01T04:00:00Z',
        sources,
      },
    },
  ];
  const known = decideAll(measureDecider, ahead, measureDecider.initialState(), context);
  const revoked = decideAll(
    measureDecider,
    [{ type: 'RevokeMeasure', data: { effectiveAt: REVOKED_AT, sources } }],
    known.state,
    context,
  ).state;
  const LATER = ['2026-06-01T04:00:00Z', '2026-07-20T00:00:00Z', '2026-09-15T00:00:00Z'];

  it('shows the rate the measure ended with: no amendment nor phase dated at or after it', () => {
    for (const asOf of LATER) {
      expect(measureStatusAt(revoked, asOf)).toMatchObject({
        status: 'revoked',
        fullRate: { type: 'ad-valorem', percent: 34 },
        rateInForce: null,
      });
    }
    expect(fullRateAt(revoked.measure!, '2026-09-15T00:00:00.000Z')).toEqual({
      type: 'ad-valorem',
      percent: 34,
    });
  });

  it('lists no exclusion in effect, whether granted before, at or after the revocation', () => {
    expect(measureStatusAt(revoked, '2026-05-31T00:00:00Z')?.activeExclusions).toEqual([
      { id: 'x-before', description: 'Cranes' },
    ]);
    for (const asOf of LATER) {
      expect(measureStatusAt(revoked, asOf)?.activeExclusions).toEqual([]);
    }
  });

  it('keeps the scope it ended with, and reaches no territory a later amendment took in', () => {
    const after = measureStatusAt(revoked, '2026-07-20T00:00:00Z');
    expect(after?.scope).toEqual(usReciprocal.scope);
    expect(coversOn(revoked.measure!, 'HK', '2026-07-20T00:00:00Z')).toBe(false);
    expect(coversOn(revoked.measure!, 'CN', '2026-07-20T00:00:00Z')).toBe(true);
  });

  it('has no suspension in effect, neither the one running across it nor one starting after it', () => {
    for (const asOf of LATER) {
      expect(suspensionsInEffectAt(revoked.measure!, asOf)).toEqual([]);
    }
  });

  it('answers as before on dates before the revocation', () => {
    expect(measureStatusAt(revoked, '2026-05-31T00:00:00Z')).toMatchObject({
      status: 'partially-suspended',
      fullRate: { type: 'ad-valorem', percent: 34 },
      rateInForce: { type: 'ad-valorem', percent: 24 },
      activeSuspension: { id: 's-across' },
    });
  });

  it('shows every one of those facts as known before the revocation was recorded', () => {
    expect(measureStatusAt(known.state, '2026-07-20T00:00:00Z')).toMatchObject({
      status: 'suspended',
      fullRate: { type: 'ad-valorem', percent: 50 },
      scope: { inclusions: ['HK'] },
      activeExclusions: [
        { id: 'x-before', description: 'Cranes' },
        { id: 'x-at', description: 'Vessels' },
      ],
    });
    expect(
      measureStatusAt(known.state, '2026-08-15T00:00:00Z')?.activeExclusions.map((e) => e.id),
    ).toEqual(['x-before', 'x-at', 'x-after']);
    expect(coversOn(known.state.measure!, 'HK', '2026-07-20T00:00:00Z')).toBe(true);
  });
});
