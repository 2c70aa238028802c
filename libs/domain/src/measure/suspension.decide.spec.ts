import type { Source } from '../shared/source';
import { deciderSpec } from '../testing/decider-spec';
import {
  cnCountermeasure,
  CN_MEASURE,
  implemented,
  mofcom,
  sources,
  suspended,
  US_MEASURE,
} from '../testing/fixtures';
import { measureDecider } from './measure.decide';
import { measureStatusAt } from './measure.status';
import { foldEvents } from '../shared/event';
import { type GivenEvent, withMetadata } from '../testing/decider-spec';
import type { MeasureEvent } from './measure.events';

const spec = deciderSpec(measureDecider);
const eo14334: Source = {
  issuer: 'The White House',
  title: 'Executive Order 14334',
  documentNumber: 'EO 14334',
  official: true,
};
const eo14358: Source = {
  issuer: 'The White House',
  title: 'Executive Order 14358',
  documentNumber: 'EO 14358',
  official: true,
};
const revoked = {
  type: 'MeasureRevoked' as const,
  data: { effectiveAt: '2025-05-01T00:00:00.000Z', sources },
};

// The Chinese port-fee countermeasure, whose suspension waits for the US maritime suspension.
const cnPortFees = {
  type: 'MeasureImplemented' as const,
  data: {
    measureId: CN_MEASURE,
    measure: {
      ...cnCountermeasure,
      kind: 'port-fee' as const,
      rate: { type: 'specific' as const, amount: 400, currency: 'CNY', unit: 'net ton' },
    },
    effectiveAt: '2025-10-14T00:00:00.000Z',
    sources: [mofcom],
  },
};
const usMaritime = (startsAt?: string) =>
  foldEvents(
    measureDecider,
    withMetadata<MeasureEvent>([
      implemented(
        { code: 'us-301-maritime', kind: 'port-fee', rate: undefined },
        '2025-10-14T04:01:00.000Z',
      ),
      ...suspended({
        suspensionId: 's-301',
        startsAt,
        part: undefined,
        endsAt: undefined,
        duration: 'P1Y',
      }),
    ]),
  ).measure;

describe('ScheduleSuspension', () => {
  it('suspends 24 of the 34 points from a fixed start for 90 days, resolving the end in the measure zone', () => {
    spec
      .given([implemented()])
      .when({
        type: 'ScheduleSuspension',
        data: {
          startsAt: '2025-05-14T00:01:00-04:00',
          duration: 'P90D',
          part: { percentPoints: 24 },
          agreement: 'agreement-geneva',
          sources,
        },
      })
      .then([
        {
          type: 'SuspensionScheduled',
          data: {
            suspensionId: 'id-1',
            startsAt: '2025-05-14T04:01:00.000Z',
            endsAt: '2025-08-12T04:01:00.000Z',
            duration: 'P90D',
            part: { percentPoints: 24 },
            agreement: 'agreement-geneva',
            reinstatesAutomatically: true,
            effectiveAt: '2025-05-14T04:01:00.000Z',
            sources,
          },
        },
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 'id-1',
            startsAt: '2025-05-14T04:01:00.000Z',
            endsAt: '2025-08-12T04:01:00.000Z',
            effectiveAt: '2025-05-14T04:01:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('suspends the whole measure until a fixed end, with an id chosen by the caller', () => {
    spec
      .given([implemented()])
      .when({
        type: 'ScheduleSuspension',
        data: {
          suspensionId: 's-kl',
          startsAt: '2025-11-10T05:01:00Z',
          endsAt: '2026-11-10T05:01:00Z',
          reinstatesAutomatically: false,
          effectiveAt: '2025-11-04T00:00:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'SuspensionScheduled',
          data: {
            suspensionId: 's-kl',
            startsAt: '2025-11-10T05:01:00.000Z',
            endsAt: '2026-11-10T05:01:00.000Z',
            reinstatesAutomatically: false,
            effectiveAt: '2025-11-04T00:00:00.000Z',
            sources,
          },
        },
        expect.objectContaining({ type: 'SuspensionStarted' }),
      ]);
  });

  it('schedules a conditional suspension with no start and no end yet', () => {
    spec
      .given([cnPortFees])
      .when(
        {
          type: 'ScheduleSuspension',
          data: {
            suspensionId: 's-cn-port',
            startsWhen: { measure: 'us-301-maritime', suspension: 's-301' },
            triggerMeasure: usMaritime(),
            duration: 'P1Y',
            sources: [mofcom],
          },
        },
        { now: '2025-10-30T00:00:00Z' },
      )
      .then([
        {
          type: 'SuspensionScheduled',
          data: {
            suspensionId: 's-cn-port',
            startsWhen: { measure: US_MEASURE, suspension: 's-301' },
            duration: 'P1Y',
            reinstatesAutomatically: true,
            effectiveAt: '2025-10-30T00:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('starts at once, at the same instant, when the trigger has already taken effect', () => {
    spec
      .given([cnPortFees])
      .when({
        type: 'ScheduleSuspension',
        data: {
          suspensionId: 's-cn-port',
          startsWhen: { measure: US_MEASURE, suspension: 's-301' },
          triggerMeasure: usMaritime('2025-11-10T05:01:00.000Z'),
          duration: 'P1Y',
          sources: [mofcom],
        },
      })
      .then([
        expect.objectContaining({ type: 'SuspensionScheduled' }),
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 's-cn-port',
            startsAt: '2025-11-10T05:01:00.000Z',
            endsAt: '2026-11-10T05:01:00.000Z',
            effectiveAt: '2025-11-10T05:01:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('may wait for another suspension of the same measure', () => {
    spec
      .given([implemented(), ...suspended({ startsAt: undefined, endsAt: undefined })])
      .when({
        type: 'ScheduleSuspension',
        data: {
          startsWhen: { measure: US_MEASURE, suspension: 's-geneva' },
          duration: 'P30D',
          sources,
        },
      })
      .then([expect.objectContaining({ type: 'SuspensionScheduled' })]);
  });

  const schedule = (data: object) => ({
    type: 'ScheduleSuspension' as const,
    data: { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D', sources, ...data },
  });

  it.each([
    ['suspension-ends-before-start', { duration: undefined, endsAt: '2025-05-14T04:01:00Z' }],
    ['suspension-ends-before-start', { duration: undefined, endsAt: '2025-05-01T00:00:00Z' }],
    ['invalid-suspension-start', { startsWhen: { measure: US_MEASURE, suspension: 'x' } }],
    ['invalid-suspension-start', { startsAt: undefined }],
    ['invalid-suspension-end', { endsAt: '2026-01-01T00:00:00Z' }],
    ['invalid-suspension-end', { duration: undefined }],
    ['invalid-duration', { duration: '90 days' }],
    ['invalid-duration', { duration: 'P0D' }],
    ['invalid-duration', { duration: '-P1Y' }],
    ['invalid-instant', { startsAt: '14 May 2025' }],
    ['suspended-part-exceeds-rate', { part: { percentPoints: 35 } }],
    ['negative-rate', { part: { percentPoints: -1 } }],
    ['invalid-suspended-part', { part: { percentPoints: 0 } }],
    ['source-required', { sources: [] }],
    ['invalid-id', { agreement: '' }],
  ])('rejects %s (%j)', (code, data) => {
    spec
      .given([implemented()])
      .when(schedule(data))
      .thenThrows(code as never);
  });

  it('rejects a suspended part larger than what other suspensions leave in force', () => {
    spec
      .given([implemented(), ...suspended()])
      .when(schedule({ startsAt: '2025-06-01T00:00:00Z', part: { percentPoints: 24 } }))
      .thenThrows('suspended-part-exceeds-rate');
  });

  it('rejects a suspended part of a specific rate', () => {
    spec
      .given([cnPortFees])
      .when(schedule({ startsAt: '2025-11-10T05:01:00Z', part: { percentPoints: 1 } }))
      .thenThrows('suspended-part-not-applicable');
  });

  it('rejects suspending a revoked measure, saying from when it is revoked', () => {
    const error = spec
      .given([implemented(), revoked])
      .when(schedule({}))
      .thenThrows('measure-revoked');
    expect(error.message).toMatch(/ is revoked \(from \d{4}-\d\d-\d\dT/);
  });

  it('rejects an unknown measure', () => {
    spec.given([]).when(schedule({})).thenThrows('measure-not-found');
  });

  it('rejects a suspension id already in use', () => {
    spec
      .given([implemented(), ...suspended()])
      .when(schedule({ suspensionId: 's-geneva' }))
      .thenThrows('suspension-already-exists');
  });

  it('rejects a trigger on an unknown measure', () => {
    spec
      .given([cnPortFees])
      .when(
        schedule({
          startsAt: undefined,
          startsWhen: { measure: 'nope', suspension: 's-301' },
          triggerMeasure: null,
        }),
      )
      .thenThrows('measure-not-found');
  });

  it('rejects a trigger on an unknown suspension', () => {
    spec
      .given([cnPortFees])
      .when(
        schedule({
          startsAt: undefined,
          startsWhen: { measure: US_MEASURE, suspension: 'nope' },
          triggerMeasure: usMaritime(),
        }),
      )
      .thenThrows('suspension-not-found');
  });

  it('rejects a fixed end before the start inherited from the trigger', () => {
    spec
      .given([cnPortFees])
      .when(
        schedule({
          startsAt: undefined,
          duration: undefined,
          endsAt: '2025-11-01T00:00:00Z',
          startsWhen: { measure: US_MEASURE, suspension: 's-301' },
          triggerMeasure: usMaritime('2025-11-10T05:01:00.000Z'),
        }),
      )
      .thenThrows('suspension-ends-before-start');
  });

  it('rejects a start before the measure existed (1999, for a measure in force from 2025)', () => {
    const error = spec
      .given([implemented()])
      .when(schedule({ startsAt: '1999-01-01T00:00:00Z' }))
      .thenThrows('suspension-starts-before-measure');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'startsAt',
      startsAt: '1999-01-01T00:00:00.000Z',
      measureSince: '2025-04-09T04:01:00.000Z',
    });
  });

  // MOFCOM Ann. No. 70 of 2025 suspended from 7 November (Beijing) controls announced on
  // 9 October that were to apply from 8 November.
  const announcedControls: GivenEvent<MeasureEvent>[] = [
    {
      type: 'MeasureAnnounced',
      data: {
        measureId: CN_MEASURE,
        measure: { ...cnCountermeasure, kind: 'export-control', rate: undefined },
        effectiveAt: '2025-10-08T16:00:00.000Z',
        sources: [mofcom],
      },
    },
  ];
  const ann70 = schedule({
    startsAt: '2025-11-06T16:00:00Z',
    duration: undefined,
    endsAt: '2026-11-10T05:01:00Z',
    sources: [mofcom],
  });

  it('may start after the announcement, before the measure takes effect', () => {
    spec
      .given([
        ...announcedControls,
        {
          type: 'MeasureImplemented',
          data: { measureId: CN_MEASURE, effectiveAt: '2025-11-07T16:00:00.000Z', sources },
        },
      ])
      .when(ann70)
      .then([
        expect.objectContaining({ type: 'SuspensionScheduled' }),
        expect.objectContaining({ type: 'SuspensionStarted' }),
      ]);
  });

  it('rejects a start before the announcement of a measure not yet in force', () => {
    spec
      .given(announcedControls)
      .when({ ...ann70, data: { ...ann70.data, startsAt: '2025-10-01T00:00:00Z' } })
      .thenThrows('suspension-starts-before-measure');
  });

  it('starts with its measure when the trigger took effect before the measure existed', () => {
    // The condition was met before there was anything to suspend: the suspension runs from the
    // moment there is (14 October), as when the trigger's start comes later (StartSuspension).
    spec
      .given([cnPortFees])
      .when(
        schedule({
          suspensionId: 's-cn-port',
          startsAt: undefined,
          startsWhen: { measure: US_MEASURE, suspension: 's-301' },
          triggerMeasure: usMaritime('2025-10-01T00:00:00.000Z'),
          duration: 'P1Y',
          effectiveAt: '2025-10-30T00:00:00Z',
          sources: [mofcom],
        }),
      )
      .then([
        expect.objectContaining({ type: 'SuspensionScheduled' }),
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 's-cn-port',
            startsAt: '2025-10-14T00:00:00.000Z',
            endsAt: '2026-10-14T00:00:00.000Z',
            effectiveAt: '2025-10-14T00:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });
});

describe('StartSuspension', () => {
  const conditional = {
    type: 'SuspensionScheduled' as const,
    data: {
      suspensionId: 's-cn-port',
      startsWhen: { measure: US_MEASURE, suspension: 's-301' },
      duration: 'P1Y',
      reinstatesAutomatically: true,
      effectiveAt: '2025-10-30T00:00:00.000Z',
      sources: [mofcom],
    },
  };

  it('starts a conditional suspension and resolves its end in the measure zone', () => {
    spec
      .given([cnPortFees, conditional])
      .when({
        type: 'StartSuspension',
        data: {
          suspensionId: 's-cn-port',
          startsAt: '2025-11-10T13:01:00+08:00',
          sources: [mofcom],
        },
      })
      .then([
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 's-cn-port',
            startsAt: '2025-11-10T05:01:00.000Z',
            endsAt: '2026-11-10T05:01:00.000Z',
            effectiveAt: '2025-11-10T05:01:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('starts with its measure when the trigger took effect before the measure existed', () => {
    // The US suspension recorded late, set back to 1 October: China's port fees only exist
    // from 14 October, and a suspension cannot start before its measure (as at scheduling time).
    spec
      .given([cnPortFees, conditional])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-10-01T00:00:00Z', sources: [mofcom] },
      })
      .then([
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 's-cn-port',
            startsAt: '2025-10-14T00:00:00.000Z',
            endsAt: '2026-10-14T00:00:00.000Z',
            effectiveAt: '2025-10-14T00:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('rejects a fixed end that the start with the measure has passed', () => {
    spec
      .given([
        cnPortFees,
        {
          ...conditional,
          data: { ...conditional.data, duration: undefined, endsAt: '2025-10-10T00:00:00.000Z' },
        },
      ])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-10-01T00:00:00Z', sources },
      })
      .thenThrows('suspension-ends-before-start');
  });

  it('rejects a suspension that has already started (a replayed trigger)', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-geneva', startsAt: '2025-05-14T04:01:00Z', sources },
      })
      .thenThrows('suspension-already-started');
  });

  it('rejects a lifted suspension', () => {
    spec
      .given([
        cnPortFees,
        conditional,
        {
          type: 'SuspensionLifted',
          data: { suspensionId: 's-cn-port', effectiveAt: '2025-11-01T00:00:00.000Z', sources },
        },
      ])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-11-10T05:01:00Z', sources },
      })
      .thenThrows('suspension-not-active');
  });

  it('rejects a start at or after a fixed end', () => {
    spec
      .given([
        cnPortFees,
        {
          ...conditional,
          data: { ...conditional.data, duration: undefined, endsAt: '2025-11-10T05:01:00.000Z' },
        },
      ])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-11-10T05:01:00Z', sources },
      })
      .thenThrows('suspension-ends-before-start');
  });

  it('rejects a part that no longer fits when the start comes', () => {
    spec
      .given([
        implemented(),
        ...suspended(),
        ...suspended({
          suspensionId: 's-later',
          startsAt: undefined,
          endsAt: undefined,
          startsWhen: { measure: 'm-x', suspension: 's-x' },
        }),
      ])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-later', startsAt: '2025-06-01T00:00:00Z', sources },
      })
      .thenThrows('suspended-part-exceeds-rate');
  });

  it('rejects an unknown suspension', () => {
    spec
      .given([cnPortFees])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 'nope', startsAt: '2025-11-10T05:01:00Z', sources },
      })
      .thenThrows('suspension-not-found');
  });

  it('rejects a revoked measure', () => {
    spec
      .given([
        cnPortFees,
        conditional,
        { ...revoked, data: { ...revoked.data, effectiveAt: '2025-11-01T00:00:00.000Z' } },
      ])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-11-10T05:01:00Z', sources },
      })
      .thenThrows('measure-revoked');
  });

  it('requires a source', () => {
    spec
      .given([cnPortFees, conditional])
      .when({
        type: 'StartSuspension',
        data: { suspensionId: 's-cn-port', startsAt: '2025-11-10T05:01:00Z', sources: [] },
      })
      .thenThrows('source-required');
  });
});

describe('ExtendSuspension', () => {
  it('moves the end to a later instant', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'ExtendSuspension',
        data: {
          suspensionId: 's-geneva',
          endsAt: '2025-11-10T00:01:00-05:00',
          effectiveAt: '2025-08-11T00:00:00Z',
          sources: [eo14334],
        },
      })
      .then([
        {
          type: 'SuspensionExtended',
          data: {
            suspensionId: 's-geneva',
            endsAt: '2025-11-10T05:01:00.000Z',
            previousEndsAt: '2025-08-12T04:01:00.000Z',
            effectiveAt: '2025-08-11T00:00:00.000Z',
            sources: [eo14334],
          },
        },
      ]);
  });

  it('adds a duration to the current end in the measure zone (one year after 2025-11-10 00:01 New York)', () => {
    spec
      .given([implemented(), ...suspended({ endsAt: '2025-11-10T05:01:00.000Z' })])
      .when(
        {
          type: 'ExtendSuspension',
          data: {
            suspensionId: 's-geneva',
            duration: 'P1Y',
            agreement: 'agreement-kl',
            sources: [eo14358],
          },
        },
        // Recorded on the day of EO 14358; `effectiveAt` defaults to then.
        { now: '2025-11-04T17:00:00.000Z' },
      )
      .then([
        {
          type: 'SuspensionExtended',
          data: {
            suspensionId: 's-geneva',
            endsAt: '2026-11-10T05:01:00.000Z',
            extendedBy: 'P1Y',
            previousEndsAt: '2025-11-10T05:01:00.000Z',
            agreement: 'agreement-kl',
            effectiveAt: '2025-11-04T17:00:00.000Z',
            sources: [eo14358],
          },
        },
      ]);
  });

  it('lengthens a conditional suspension that has not started yet', () => {
    spec
      .given([
        implemented(),
        ...suspended({
          startsAt: undefined,
          endsAt: undefined,
          duration: 'P1Y',
          startsWhen: { measure: 'm', suspension: 's' },
        }),
      ])
      .when({
        type: 'ExtendSuspension',
        data: { suspensionId: 's-geneva', duration: 'P6M', sources },
      })
      .then([
        {
          type: 'SuspensionExtended',
          data: {
            suspensionId: 's-geneva',
            duration: 'P1Y6M',
            extendedBy: 'P6M',
            effectiveAt: '2026-01-15T12:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it.each([
    ['the same end', '2025-08-12T04:01:00Z'],
    ['an earlier end', '2025-07-01T00:00:00Z'],
  ])('rejects an extension to %s', (_, endsAt) => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'ExtendSuspension',
        data: { suspensionId: 's-geneva', endsAt, effectiveAt: '2025-08-11T00:00:00Z', sources },
      })
      .thenThrows('extension-not-later');
  });

  it('rejects an extension dated before the suspension started', () => {
    const error = spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'ExtendSuspension',
        data: {
          suspensionId: 's-geneva',
          endsAt: '2025-11-10T05:01:00Z',
          effectiveAt: '2025-05-01T00:00:00Z',
          sources: [eo14334],
        },
      })
      .thenThrows('extended-before-start');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      effectiveAt: '2025-05-01T00:00:00.000Z',
      suspensionId: 's-geneva',
      startsAt: '2025-05-14T04:01:00.000Z',
      scheduledAt: '2025-05-14T04:01:00.000Z',
    });
  });

  it('extends, before it starts, a suspension decided ahead of its start', () => {
    const decidedAhead = suspended({
      startsAt: '2025-11-10T05:01:00.000Z',
      endsAt: '2026-11-10T05:01:00.000Z',
      duration: undefined,
      effectiveAt: '2025-10-30T00:00:00.000Z',
    });
    spec
      .given([implemented(), ...decidedAhead])
      .when({
        type: 'ExtendSuspension',
        data: {
          suspensionId: 's-geneva',
          endsAt: '2027-11-10T05:01:00Z',
          effectiveAt: '2025-11-05T00:00:00Z',
          sources,
        },
      })
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
  });

  // Recorded in advance with its start alone: its decision date defaults to that start (what
  // the decider makes of it), yet an extension or a lifting decided today, before it starts, is
  // no contradiction.
  const recordedAhead = () =>
    suspended({
      startsAt: '2025-11-10T05:01:00.000Z',
      endsAt: '2026-11-10T05:01:00.000Z',
      duration: undefined,
      effectiveAt: '2025-11-10T05:01:00.000Z',
    });
  const extendTo2027 = (effectiveAt?: string) => ({
    type: 'ExtendSuspension' as const,
    data: {
      suspensionId: 's-geneva',
      endsAt: '2027-11-10T05:01:00Z',
      ...(effectiveAt && { effectiveAt }),
      sources,
    },
  });
  const liftAt = (effectiveAt: string) => ({
    type: 'LiftSuspension' as const,
    data: { suspensionId: 's-geneva', effectiveAt, sources },
  });

  it('extends or calls off from now on a suspension recorded with only its future start', () => {
    const today = { now: '2025-11-01T00:00:00Z' };
    spec
      .given([implemented(), ...recordedAhead()])
      .when(extendTo2027(), today)
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
    spec
      .given([implemented(), ...recordedAhead()])
      .when(liftAt('2025-11-01T00:00:00Z'), today)
      .then([expect.objectContaining({ type: 'SuspensionLifted' })]);
    // Set back before it existed, it still is one.
    spec
      .given([implemented(), ...recordedAhead()])
      .when(liftAt('2025-10-01T00:00:00Z'), today)
      .thenThrows('lifted-before-start');
  });

  it('takes an extension or lifting dated moments before now, as a client clock gives it, as decided now', () => {
    // A client that sends its own "now" sends an instant the server has already passed (its
    // clock runs a little behind, or the request took a while): it means now, as an omitted
    // effectiveAt does.
    const today = { now: '2025-11-01T00:00:00.250Z' };
    for (const effectiveAt of ['2025-11-01T00:00:00Z', '2025-10-31T23:58:30Z']) {
      spec
        .given([implemented(), ...recordedAhead()])
        .when(extendTo2027(effectiveAt), today)
        .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
      spec
        .given([implemented(), ...recordedAhead()])
        .when(liftAt(effectiveAt), today)
        .then([expect.objectContaining({ type: 'SuspensionLifted' })]);
    }
    // An hour back is a date set back, checked as before.
    spec
      .given([implemented(), ...recordedAhead()])
      .when(liftAt('2025-10-31T23:00:00Z'), today)
      .thenThrows('lifted-before-start');
  });

  it('still refuses a date just before a decision recorded as made in the past', () => {
    // Decided (explicitly) a minute ago, to start next week: an extension dated before that
    // decision contradicts it, however recent.
    const decided = suspended({
      startsAt: '2025-11-10T05:01:00.000Z',
      endsAt: '2026-11-10T05:01:00.000Z',
      duration: undefined,
      effectiveAt: '2025-10-31T23:59:00.000Z',
    });
    spec
      .given([implemented(), ...decided])
      .when(
        {
          type: 'ExtendSuspension',
          data: {
            suspensionId: 's-geneva',
            endsAt: '2027-11-10T05:01:00Z',
            effectiveAt: '2025-10-31T23:58:30Z',
            sources,
          },
        },
        { now: '2025-11-01T00:00:00Z' },
      )
      .thenThrows('extended-before-start');
  });

  it('rejects a fixed new end while the start (and so the end) is unknown', () => {
    spec
      .given([
        implemented(),
        ...suspended({
          startsAt: undefined,
          endsAt: undefined,
          startsWhen: { measure: 'm', suspension: 's' },
        }),
      ])
      .when({
        type: 'ExtendSuspension',
        data: { suspensionId: 's-geneva', endsAt: '2027-01-01T00:00:00Z', sources },
      })
      .thenThrows('suspension-end-unresolved');
  });

  // The Geneva suspension ran until 2025-08-12 04:01 UTC (exclusive); EO 14334 carried it on.
  const lapsedByTheSystem = {
    type: 'SuspensionLapsed' as const,
    data: { suspensionId: 's-geneva', effectiveAt: '2025-08-12T04:01:00.000Z', sources },
    metadata: { eventId: 'e-lapsed', actor: 'system' },
  };
  const liftedOnJulyFirst = {
    type: 'SuspensionLifted' as const,
    data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T04:00:00.000Z', sources },
  };
  const extension = (effectiveAt?: string) => ({
    type: 'ExtendSuspension' as const,
    data: {
      suspensionId: 's-geneva',
      endsAt: '2025-11-10T05:01:00Z',
      ...(effectiveAt && { effectiveAt }),
      sources: [eo14334],
    },
  });

  it('refuses an extension in force after the suspension was lifted', () => {
    const error = spec
      .given([implemented(), ...suspended(), liftedOnJulyFirst])
      .when(extension('2025-07-15T00:00:00Z'))
      .thenThrows('suspension-already-ended');
    expect(error.kind).toBe('invalid');
    expect(error.details).toMatchObject({
      field: 'effectiveAt',
      suspensionId: 's-geneva',
      endedAt: '2025-07-01T04:00:00.000Z',
      effectiveAt: '2025-07-15T00:00:00.000Z',
    });
  });

  it('continues a suspension after a recorded lapse from a later date, and the lapse stands', () => {
    // The same answer as before the worker recorded the lapse: a continuation, with a gap.
    const events = spec
      .given([implemented(), ...suspended(), lapsedByTheSystem])
      .when(extension('2025-09-01T00:00:00Z'))
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
    const state = foldEvents(
      measureDecider,
      withMetadata([implemented(), ...suspended(), lapsedByTheSystem, ...events] as MeasureEvent[]),
    );
    expect(measureStatusAt(state, '2025-08-20T00:00:00Z')?.status).toBe('in-force');
    expect(measureStatusAt(state, '2025-09-05T00:00:00Z')?.status).toBe('partially-suspended');
  });

  it('takes a continuation of a suspension whose end passed with no lapse on record', () => {
    // As China's of 5 November 2025 (the bundled dataset): the new period from a date after the
    // old end. Refusing it would stop existing databases from importing the dataset again.
    spec
      .given([implemented(), ...suspended()])
      .when(extension('2025-09-01T00:00:00Z'))
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
  });

  it('refuses an extension whose new end is not after it takes effect: it extends nothing', () => {
    // Lapsed on 12 August; "one more month" sent in November with no effectiveAt (now) would end
    // on 12 September, already past when it takes effect: a second lapse of a period never
    // in force.
    const late = { now: '2025-11-30T00:00:00Z' };
    const error = spec
      .given([implemented(), ...suspended(), lapsedByTheSystem])
      .when(
        { type: 'ExtendSuspension', data: { suspensionId: 's-geneva', duration: 'P1M', sources } },
        late,
      )
      .thenThrows('extension-ends-before-effective');
    expect(error.kind).toBe('invalid');
    expect(error.details).toMatchObject({
      field: 'effectiveAt',
      suspensionId: 's-geneva',
      endsAt: '2025-09-12T04:01:00.000Z',
      effectiveAt: '2025-11-30T00:00:00.000Z',
    });
    // The same by an explicit end; and an extension taking effect exactly at its new end.
    spec
      .given([implemented(), ...suspended(), lapsedByTheSystem])
      .when(extension('2025-11-10T05:01:00Z'))
      .thenThrows('extension-ends-before-effective');
    // Dated when it was decided, the same month is a continuation and is taken.
    spec
      .given([implemented(), ...suspended(), lapsedByTheSystem])
      .when(
        {
          type: 'ExtendSuspension',
          data: {
            suspensionId: 's-geneva',
            duration: 'P1M',
            effectiveAt: '2025-08-20T00:00:00Z',
            sources,
          },
        },
        late,
      )
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
  });

  it('takes an extension in force at the very end: ends are exclusive, so there is no gap', () => {
    const events = spec
      .given([implemented(), ...suspended()])
      .when(extension('2025-08-12T04:01:00Z'))
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
    const state = foldEvents(
      measureDecider,
      withMetadata([implemented(), ...suspended(), ...events] as MeasureEvent[]),
    );
    expect(measureStatusAt(state, '2025-08-12T04:01:00Z')?.status).toBe('partially-suspended');
  });

  it('retracts, with the extension, a lapse recorded before an extension in force by the end', () => {
    // EO 14334 (11 August) recorded on 20 August, after the worker had recorded the lapse: the
    // suspension never lapsed. The lapse is retracted in the same append, so that every view
    // drops it as it drops any retracted fact.
    const given = [implemented(), ...suspended(), lapsedByTheSystem];
    const today = { now: '2025-08-20T09:00:00.000Z' };
    const events = spec
      .given(given)
      .when(extension('2025-08-11T16:00:00Z'), today)
      .then([
        {
          type: 'EventRetracted',
          data: {
            eventId: 'e-lapsed',
            reason: expect.stringContaining('did not lapse'),
            effectiveAt: '2025-08-20T09:00:00.000Z',
            sources: [eo14334],
          },
        },
        {
          type: 'SuspensionExtended',
          data: {
            suspensionId: 's-geneva',
            endsAt: '2025-11-10T05:01:00.000Z',
            previousEndsAt: '2025-08-12T04:01:00.000Z',
            effectiveAt: '2025-08-11T16:00:00.000Z',
            sources: [eo14334],
          },
        },
      ]);
    const state = foldEvents(measureDecider, [...withMetadata<MeasureEvent>(given), ...events]);
    const geneva = state.measure?.suspensions[0];
    expect(geneva).toMatchObject({ state: 'active', endsAt: '2025-11-10T05:01:00.000Z' });
    expect(geneva?.lapsedAt).toBeUndefined();
    expect(measureStatusAt(state, '2025-09-01T00:00:00Z')?.status).toBe('partially-suspended');

    // Should the extension itself prove wrong and be retracted, the suspension is back to its
    // old end, already passed, and the worker records a lapse again.
    const extended = events[1].metadata.eventId;
    const lapsesAgain = spec
      .given([
        ...given,
        ...events,
        {
          type: 'EventRetracted',
          data: { eventId: extended, reason: 'wrong', effectiveAt: today.now, sources },
        },
      ])
      .when({ type: 'LapseSuspension', data: { suspensionId: 's-geneva' } }, { actor: 'system' })
      .then([expect.objectContaining({ type: 'SuspensionLapsed' })]);
    expect(lapsesAgain[0].data.effectiveAt).toBe('2025-08-12T04:01:00.000Z');
  });

  it('takes an extension decided before a lifting and recorded after it; the lifting still ends it', () => {
    const given = [implemented(), ...suspended(), liftedOnJulyFirst];
    const events = spec
      .given(given)
      .when(extension('2025-06-20T00:00:00Z'))
      .then([expect.objectContaining({ type: 'SuspensionExtended' })]);
    const state = foldEvents(measureDecider, [...withMetadata<MeasureEvent>(given), ...events]);
    expect(state.measure?.suspensions[0]).toMatchObject({
      state: 'lifted',
      liftedAt: '2025-07-01T04:00:00.000Z',
    });
    expect(measureStatusAt(state, '2025-07-02T00:00:00Z')?.status).toBe('in-force');
  });

  it('rejects both or neither of endsAt and duration', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'ExtendSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-08-11T00:00:00Z', sources },
      })
      .thenThrows('invalid-suspension-end');
  });

  it('rejects an invalid duration', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'ExtendSuspension',
        data: {
          suspensionId: 's-geneva',
          duration: 'P1.5Y',
          effectiveAt: '2025-08-11T00:00:00Z',
          sources,
        },
      })
      .thenThrows('invalid-duration');
  });

  it('rejects an unknown suspension', () => {
    spec
      .given([implemented()])
      .when({ type: 'ExtendSuspension', data: { suspensionId: 'nope', duration: 'P1Y', sources } })
      .thenThrows('suspension-not-found');
  });

  it('rejects a revoked measure', () => {
    spec
      .given([
        implemented(),
        ...suspended(),
        { ...revoked, data: { ...revoked.data, effectiveAt: '2025-06-01T00:00:00.000Z' } },
      ])
      .when({
        type: 'ExtendSuspension',
        data: { suspensionId: 's-geneva', duration: 'P1Y', sources },
      })
      .thenThrows('measure-revoked');
  });
});

describe('LiftSuspension', () => {
  it('ends a running suspension early', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T04:00:00Z', sources },
      })
      .then([
        {
          type: 'SuspensionLifted',
          data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T04:00:00.000Z', sources },
        },
      ]);
  });

  it('cancels a suspension that has not started', () => {
    spec
      .given([
        implemented(),
        ...suspended({
          startsAt: undefined,
          endsAt: undefined,
          startsWhen: { measure: 'm', suspension: 's' },
        }),
      ])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T04:00:00Z', sources },
      })
      .then([expect.objectContaining({ type: 'SuspensionLifted' })]);
  });

  it('calls off a suspension at its start, so that it is never in effect', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-05-14T04:01:00Z', sources },
      })
      .then([expect.objectContaining({ type: 'SuspensionLifted' })]);
  });

  it('rejects a lifting dated before the suspension started', () => {
    const error = spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2020-01-01T00:00:00Z', sources },
      })
      .thenThrows('lifted-before-start');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      effectiveAt: '2020-01-01T00:00:00.000Z',
      suspensionId: 's-geneva',
      startsAt: '2025-05-14T04:01:00.000Z',
      scheduledAt: '2025-05-14T04:01:00.000Z',
    });
  });

  // Decided on 30 October to run from 10 November: it can be called off, or lengthened, before.
  const decidedAhead = suspended({
    startsAt: '2025-11-10T05:01:00.000Z',
    endsAt: '2026-11-10T05:01:00.000Z',
    duration: undefined,
    effectiveAt: '2025-10-30T00:00:00.000Z',
  });

  it('calls off, before it starts, a suspension decided ahead of its start', () => {
    spec
      .given([implemented(), ...decidedAhead])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-11-05T00:00:00Z', sources },
      })
      .then([expect.objectContaining({ type: 'SuspensionLifted' })]);
    spec
      .given([implemented(), ...decidedAhead])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-10-29T00:00:00Z', sources },
      })
      .thenThrows('lifted-before-start');
  });

  it('rejects a suspension already lifted', () => {
    spec
      .given([
        implemented(),
        ...suspended(),
        {
          type: 'SuspensionLifted',
          data: { suspensionId: 's-geneva', effectiveAt: '2025-07-01T04:00:00.000Z', sources },
        },
      ])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-07-02T04:00:00Z', sources },
      })
      .thenThrows('suspension-not-active');
  });

  it('rejects lifting at or after the end', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's-geneva', effectiveAt: '2025-08-12T04:01:00Z', sources },
      })
      .thenThrows('suspension-not-active');
  });

  it('rejects an unknown suspension', () => {
    spec
      .given([implemented()])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 'nope', effectiveAt: '2025-07-01T04:00:00Z', sources },
      })
      .thenThrows('suspension-not-found');
  });

  it('rejects an unknown measure', () => {
    spec
      .given([])
      .when({
        type: 'LiftSuspension',
        data: { suspensionId: 's', effectiveAt: '2025-07-01T04:00:00Z', sources },
      })
      .thenThrows('measure-not-found');
  });
});

describe('LapseSuspension', () => {
  const extended = {
    type: 'SuspensionExtended' as const,
    data: {
      suspensionId: 's-geneva',
      endsAt: '2025-11-10T05:01:00.000Z',
      previousEndsAt: '2025-08-12T04:01:00.000Z',
      effectiveAt: '2025-08-11T00:00:00.000Z',
      sources: [eo14334],
    },
  };

  it('records the lapse at the end, citing what set the end', () => {
    spec
      .given([implemented(), ...suspended(), extended])
      .when(
        { type: 'LapseSuspension', data: { suspensionId: 's-geneva' } },
        { now: '2025-11-10T05:01:00Z' },
      )
      .then([
        {
          type: 'SuspensionLapsed',
          data: {
            suspensionId: 's-geneva',
            effectiveAt: '2025-11-10T05:01:00.000Z',
            sources: [eo14334],
          },
        },
      ]);
  });

  it('cites the given sources', () => {
    spec
      .given([implemented(), ...suspended()])
      .when(
        { type: 'LapseSuspension', data: { suspensionId: 's-geneva', sources: [mofcom] } },
        { now: '2025-09-01T00:00:00Z' },
      )
      .then([
        {
          type: 'SuspensionLapsed',
          data: {
            suspensionId: 's-geneva',
            effectiveAt: '2025-08-12T04:01:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('lapses only the end its caller saw pass: another one by now is refused', () => {
    spec
      .given([implemented(), ...suspended(), extended])
      .when(
        {
          type: 'LapseSuspension',
          data: { suspensionId: 's-geneva', endsAt: '2025-08-12T04:01:00Z' },
        },
        { now: '2025-11-11T00:00:00Z' },
      )
      .thenThrows('suspension-end-moved');
    spec
      .given([implemented(), ...suspended(), extended])
      .when(
        {
          type: 'LapseSuspension',
          data: { suspensionId: 's-geneva', endsAt: '2025-11-10T05:01:00Z' },
        },
        { now: '2025-11-11T00:00:00Z' },
      )
      .then([expect.objectContaining({ type: 'SuspensionLapsed' })]);
  });

  it('rejects a lapse before the end', () => {
    spec
      .given([implemented(), ...suspended()])
      .when(
        { type: 'LapseSuspension', data: { suspensionId: 's-geneva' } },
        { now: '2025-08-12T04:00:59Z' },
      )
      .thenThrows('suspension-not-ended');
  });

  it('rejects a suspension that never started', () => {
    spec
      .given([
        implemented(),
        ...suspended({
          startsAt: undefined,
          endsAt: undefined,
          startsWhen: { measure: 'm', suspension: 's' },
        }),
      ])
      .when({ type: 'LapseSuspension', data: { suspensionId: 's-geneva' } })
      .thenThrows('suspension-not-active');
  });

  it('rejects an unknown suspension', () => {
    spec
      .given([implemented()])
      .when({ type: 'LapseSuspension', data: { suspensionId: 'nope' } })
      .thenThrows('suspension-not-found');
  });

  it.each([
    ['before', '2025-08-01T00:00:00.000Z'],
    ['at', '2025-08-12T04:01:00.000Z'],
  ])('rejects the lapse of an end the measure was revoked %s', (_, revokedAt) => {
    spec
      .given([
        implemented(),
        ...suspended(),
        { type: 'MeasureRevoked', data: { effectiveAt: revokedAt, sources: [mofcom] } },
      ])
      .when(
        { type: 'LapseSuspension', data: { suspensionId: 's-geneva' } },
        { now: '2025-09-01T00:00:00Z' },
      )
      .thenThrows('measure-revoked');
  });
});
