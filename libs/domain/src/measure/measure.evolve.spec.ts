import { foldEvents } from '../shared/event';
import { type GivenEvent, withMetadata } from '../testing/decider-spec';
import {
  implemented,
  mofcom,
  sources,
  suspended,
  US_MEASURE,
  usReciprocal,
} from '../testing/fixtures';
import { measureDecider } from './measure.decide';
import type { MeasureEvent } from './measure.events';

const fold = (events: GivenEvent<MeasureEvent>[]) =>
  foldEvents(measureDecider, withMetadata<MeasureEvent>(events));
const retract = (eventId: string, id = `r-${eventId}`): GivenEvent<MeasureEvent> => ({
  type: 'EventRetracted',
  data: { eventId, reason: 'wrong', effectiveAt: '2026-01-01T00:00:00.000Z', sources },
  metadata: { eventId: id },
});
const revocation: GivenEvent<MeasureEvent> = {
  type: 'MeasureRevoked',
  data: { effectiveAt: '2025-10-01T00:00:00.000Z', sources },
  metadata: { eventId: 'e-revoked' },
};
const extension: GivenEvent<MeasureEvent> = {
  type: 'SuspensionExtended',
  data: {
    suspensionId: 's-geneva',
    endsAt: '2025-11-10T05:01:00.000Z',
    previousEndsAt: '2025-08-12T04:01:00.000Z',
    effectiveAt: '2025-08-11T00:00:00.000Z',
    sources,
  },
  metadata: { eventId: 'e-extended' },
};

describe('evolveMeasure', () => {
  it('describes the measure from its facts', () => {
    const { measure, history } = fold([implemented(), ...suspended(), extension]);
    expect(history).toHaveLength(4);
    expect(measure).toMatchObject({
      id: US_MEASURE,
      code: 'us-reciprocal-cn',
      imposingParty: 'US',
      targetParties: ['CN'],
      rate: { type: 'ad-valorem', percent: 34 },
      timeZone: 'America/New_York',
      effectiveAt: '2025-04-09T04:01:00.000Z',
      respondsTo: [],
    });
    expect(measure?.suspensions).toEqual([
      expect.objectContaining({
        id: 's-geneva',
        state: 'active',
        startsAt: '2025-05-14T04:01:00.000Z',
        endsAt: '2025-11-10T05:01:00.000Z',
        part: { percentPoints: 24 },
        extensions: [
          expect.objectContaining({
            eventId: 'e-extended',
            previousEndsAt: '2025-08-12T04:01:00.000Z',
          }),
        ],
      }),
    ]);
  });

  it('is plain JSON', () => {
    const state = fold([implemented(), ...suspended(), extension, revocation]);
    expect(JSON.parse(JSON.stringify(state.measure))).toStrictEqual(state.measure);
  });

  it('keeps rate amendments in order of effect, whatever the order they were recorded in', () => {
    const amended = (percent: number, effectiveAt: string): GivenEvent<MeasureEvent> => ({
      type: 'MeasureRateAmended',
      data: { rate: { type: 'ad-valorem', percent }, effectiveAt, sources },
    });
    const { measure } = fold([
      implemented(),
      amended(125, '2025-04-10T04:01:00.000Z'),
      amended(84, '2025-04-09T04:01:00.000Z'),
    ]);
    expect(measure?.rateHistory.map((change) => change.value)).toEqual([
      { type: 'ad-valorem', percent: 34 },
      { type: 'ad-valorem', percent: 84 },
      { type: 'ad-valorem', percent: 125 },
    ]);
    expect(measure?.rate).toEqual({ type: 'ad-valorem', percent: 125 });
  });

  it('keeps the terms of a threat until an announcement restates them', () => {
    const { measure } = fold([
      {
        type: 'MeasureThreatened',
        data: {
          measureId: 'm',
          measure: { ...usReciprocal, title: 'Threat' },
          effectiveAt: '2025-03-01T00:00:00.000Z',
          sources,
        },
      },
      {
        type: 'MeasureAnnounced',
        data: {
          measureId: 'm',
          measure: usReciprocal,
          effectiveAt: '2025-04-02T00:00:00.000Z',
          sources: [mofcom],
        },
      },
    ]);
    expect(measure).toMatchObject({
      title: usReciprocal.title,
      threatenedAt: '2025-03-01T00:00:00.000Z',
      announcedAt: '2025-04-02T00:00:00.000Z',
    });
    expect(measure?.sources).toEqual([...sources, mofcom]);
  });
});

describe('suspension state', () => {
  it('is active from the scheduling when the start is fixed, start event or not', () => {
    // A stream may hold a fixed-start suspension without a standing SuspensionStarted (retracted
    // before such retractions were refused): its start is still known, its status counts it.
    const [scheduling, start] = suspended();
    const withoutStart = fold([implemented(), scheduling]);
    expect(withoutStart.measure?.suspensions[0]).toMatchObject({
      state: 'active',
      startsAt: '2025-05-14T04:01:00.000Z',
    });
    const startRetracted = fold([
      implemented(),
      scheduling,
      { ...start, metadata: { eventId: 'e-started' } },
      retract('e-started'),
    ]);
    expect(startRetracted.measure?.suspensions).toEqual(withoutStart.measure?.suspensions);
    // So its end is reached like any other's: the worker can record the lapse.
    expect(
      measureDecider.decide(
        { type: 'LapseSuspension', data: { suspensionId: 's-geneva' } },
        startRetracted,
        { now: '2025-08-12T04:01:00.000Z', actor: 'system', newId: () => 'e-lapsed' },
      ),
    ).toEqual([expect.objectContaining({ type: 'SuspensionLapsed' })]);
  });

  it('is scheduled while a conditional start is unknown', () => {
    const { measure } = fold([
      implemented(),
      ...suspended({
        startsAt: undefined,
        endsAt: undefined,
        startsWhen: { measure: 'm', suspension: 's' },
      }),
    ]);
    expect(measure?.suspensions[0].state).toBe('scheduled');
  });
});

describe('retraction', () => {
  it('makes the state ignore the retracted fact while the history keeps both', () => {
    const { measure, history } = fold([implemented(), revocation, retract('e-revoked')]);
    expect(measure?.revokedAt).toBeUndefined();
    expect(history.map((event) => event.type)).toEqual([
      'MeasureImplemented',
      'MeasureRevoked',
      'EventRetracted',
    ]);
  });

  it('restores the previous end when an extension is retracted', () => {
    const { measure } = fold([implemented(), ...suspended(), extension, retract('e-extended')]);
    expect(measure?.suspensions[0]).toMatchObject({
      endsAt: '2025-08-12T04:01:00.000Z',
      extensions: [],
    });
  });

  it('revives a fact when its retraction is retracted', () => {
    const { measure } = fold([
      implemented(),
      revocation,
      retract('e-revoked', 'r1'),
      retract('r1', 'r2'),
    ]);
    expect(measure?.revokedAt).toBe('2025-10-01T00:00:00.000Z');
  });

  it('keeps later facts that no longer apply out of the state', () => {
    const { measure } = fold([
      implemented(),
      ...suspended(),
      extension,
      retract('e-scheduled-s-geneva'),
    ]);
    expect(measure?.suspensions).toEqual([]);
  });

  it('leaves no measure when its creation is retracted', () => {
    const { measure } = fold([implemented(), ...suspended(), retract('e-implemented')]);
    expect(measure).toBeNull();
  });

  it('lets facts recorded after the retraction apply as usual', () => {
    const { measure } = fold([
      implemented(),
      revocation,
      retract('e-revoked'),
      { ...revocation, metadata: { eventId: 'e-revoked-again' } },
    ]);
    expect(measure?.revokedAt).toBe('2025-10-01T00:00:00.000Z');
  });
});
