import { deciderSpec } from '../testing/decider-spec';
import {
  cnCountermeasure,
  CN_MEASURE,
  definitionInput,
  implemented,
  mofcom,
  sources,
  suspended,
  US_MEASURE,
  usReciprocal,
} from '../testing/fixtures';
import type { MeasureRef } from './measure.commands';
import { measureDecider } from './measure.decide';

const spec = deciderSpec(measureDecider);
const usMeasureRef: MeasureRef = { id: US_MEASURE, imposingParty: 'US', targetParties: ['CN'] };
const cnImplemented = {
  type: 'MeasureImplemented' as const,
  data: {
    measureId: CN_MEASURE,
    measure: cnCountermeasure,
    effectiveAt: '2025-04-10T04:01:00.000Z',
    sources,
  },
};

describe('ThreatenMeasure', () => {
  const threat = definitionInput({
    code: 'us-100-threat',
    title: '+100% tariff',
    rate: { type: 'ad-valorem', percent: 100 },
  });

  it('records a threat with its terms', () => {
    spec
      .given([])
      .when({
        type: 'ThreatenMeasure',
        data: {
          measureId: 'm-threat',
          measure: threat,
          effectiveAt: '2025-10-10T20:00:00-04:00',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: 'm-threat',
            measure: {
              ...usReciprocal,
              code: 'us-100-threat',
              title: '+100% tariff',
              rate: { type: 'ad-valorem', percent: 100 },
            },
            effectiveAt: '2025-10-11T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('stamps the acting user and a fresh event id', () => {
    const [event] = spec
      .given([])
      .when(
        {
          type: 'ThreatenMeasure',
          data: { measureId: 'm', measure: threat, effectiveAt: '2025-10-10T00:00:00Z', sources },
        },
        { actor: 'key:importer' },
      )
      .then([expect.objectContaining({ type: 'MeasureThreatened' })]);
    expect(event.metadata).toEqual({ eventId: 'id-1', actor: 'key:importer' });
  });

  it('rejects a measure that already exists', () => {
    spec
      .given([implemented()])
      .when({
        type: 'ThreatenMeasure',
        data: {
          measureId: US_MEASURE,
          measure: threat,
          effectiveAt: '2025-10-10T00:00:00Z',
          sources,
        },
      })
      .thenThrows('measure-already-exists');
  });

  it.each([
    ['invalid-party-code', { imposingParty: 'us' }],
    ['invalid-party-code', { targetParties: ['CN', 'XX'] }],
    ['invalid-party-code', { scope: { inclusions: ['HK', 'EU'] } }],
    ['target-party-required', { targetParties: [] }],
    ['measure-targets-itself', { targetParties: ['US'] }],
    ['measure-targets-itself', { targetParties: ['CN', 'US'] }],
    ['measure-targets-itself', { scope: { inclusions: ['HK', 'US'] } }],
    ['duplicate-target-party', { targetParties: ['CN', 'CN'] }],
    ['duplicate-target-party', { targetParties: ['CN', 'HK', 'CN'] }],
    ['negative-rate', { rate: { type: 'ad-valorem', percent: -1 } }],
    [
      'negative-rate',
      { rate: { type: 'specific', amount: -50, currency: 'USD', unit: 'net ton' } },
    ],
    [
      'invalid-currency',
      { rate: { type: 'specific', amount: 50, currency: 'usd', unit: 'net ton' } },
    ],
    ['invalid-rate', { rate: { type: 'compound', percent: 1 } }],
    ['invalid-time-zone', { timeZone: 'America/Gotham' }],
    ['invalid-hs-code', { scope: { hsCodes: ['99'] } }],
    ['invalid-code', { code: 'has spaces' }],
    ['invalid-code', { code: '0b7c8f2e-8a55-4a8e-9d53-2d4f0e7a1c11' }],
    ['title-required', { title: '  ' }],
    ['invalid-measure-kind', { kind: 'quota' }],
    ['text-required', { legalBasis: '' }],
  ])('rejects %s in the definition (%j)', (code, overrides) => {
    spec
      .given([])
      .when({
        type: 'ThreatenMeasure',
        data: {
          measureId: 'm',
          measure: definitionInput(overrides as object),
          effectiveAt: '2025-10-10T00:00:00Z',
          sources,
        },
      })
      .thenThrows(code as never);
  });

  it('names the offending target party', () => {
    const threaten = (targetParties: string[]) => ({
      type: 'ThreatenMeasure' as const,
      data: {
        measureId: 'm',
        measure: definitionInput({ targetParties }),
        effectiveAt: '2025-10-10T00:00:00Z',
        sources,
      },
    });
    const itself = spec
      .given([])
      .when(threaten(['CN', 'US']))
      .thenThrows('measure-targets-itself');
    expect(itself.kind).toBe('invalid');
    expect(itself.details).toEqual({ field: 'measure.targetParties[1]', imposingParty: 'US' });
    const twice = spec
      .given([])
      .when(threaten(['CN', 'HK', 'CN']))
      .thenThrows('duplicate-target-party');
    expect(twice.kind).toBe('invalid');
    expect(twice.details).toEqual({ field: 'measure.targetParties[2]', value: 'CN' });
  });

  it.each([
    ['source-required', []],
    ['invalid-source', [{ issuer: 'CBP', title: 'CSMS 66749380' }]],
    ['invalid-source', [{ issuer: 'CBP', title: 'CSMS', official: true, url: 'ftp://x' }]],
    ['invalid-source', [{ issuer: 'CBP', title: 'CSMS', official: true, confidence: 'X' }]],
  ])('rejects %s in the sources', (code, badSources) => {
    spec
      .given([])
      .when({
        type: 'ThreatenMeasure',
        data: {
          measureId: 'm',
          measure: threat,
          effectiveAt: '2025-10-10T00:00:00Z',
          sources: badSources as never,
        },
      })
      .thenThrows(code as never);
  });

  it('rejects an instant without an offset', () => {
    spec
      .given([])
      .when({
        type: 'ThreatenMeasure',
        data: { measureId: 'm', measure: threat, effectiveAt: '2025-10-10T00:00', sources },
      })
      .thenThrows('invalid-instant');
  });

  it('rejects an empty id', () => {
    spec
      .given([])
      .when({
        type: 'ThreatenMeasure',
        data: { measureId: '', measure: threat, effectiveAt: '2025-10-10T00:00:00Z', sources },
      })
      .thenThrows('invalid-id');
  });
});

describe('AnnounceMeasure', () => {
  const threatened = {
    type: 'MeasureThreatened' as const,
    data: {
      measureId: US_MEASURE,
      measure: usReciprocal,
      effectiveAt: '2025-03-01T00:00:00.000Z',
      sources,
    },
  };

  it('creates a measure with its terms', () => {
    spec
      .given([])
      .when({
        type: 'AnnounceMeasure',
        data: {
          measureId: US_MEASURE,
          measure: usReciprocal,
          effectiveAt: '2025-04-02T20:00:00.000Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureAnnounced',
          data: {
            measureId: US_MEASURE,
            measure: usReciprocal,
            effectiveAt: '2025-04-02T20:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('turns a threat into an announcement without restating its terms', () => {
    spec
      .given([threatened])
      .when({
        type: 'AnnounceMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-02T20:00:00.000Z', sources },
      })
      .then([
        {
          type: 'MeasureAnnounced',
          data: { measureId: US_MEASURE, effectiveAt: '2025-04-02T20:00:00.000Z', sources },
        },
      ]);
  });

  it('rejects an announcement dated before the threat', () => {
    const error = spec
      .given([threatened])
      .when({
        type: 'AnnounceMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-02-01T00:00:00Z', sources },
      })
      .thenThrows('announced-before-threatened');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      announcedAt: '2025-02-01T00:00:00.000Z',
      threatenedAt: '2025-03-01T00:00:00.000Z',
    });
  });

  it('requires the terms of a new measure', () => {
    spec
      .given([])
      .when({
        type: 'AnnounceMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-02T20:00:00.000Z', sources },
      })
      .thenThrows('measure-definition-required');
  });

  it('rejects a second announcement', () => {
    spec
      .given([implemented()])
      .when({
        type: 'AnnounceMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-02T20:00:00.000Z', sources },
      })
      .thenThrows('measure-already-announced');
  });

  it('rejects announcing a revoked measure', () => {
    spec
      .given([
        threatened,
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-10-26T00:00:00.000Z', sources } },
      ])
      .when({
        type: 'AnnounceMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-10-27T00:00:00.000Z', sources },
      })
      .thenThrows('measure-revoked');
  });
});

describe('ImplementMeasure', () => {
  it('puts an announced measure in force', () => {
    spec
      .given([
        {
          type: 'MeasureAnnounced',
          data: {
            measureId: US_MEASURE,
            measure: usReciprocal,
            effectiveAt: '2025-04-02T20:00:00.000Z',
            sources,
          },
        },
      ])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-09T00:01:00-04:00', sources },
      })
      .then([
        {
          type: 'MeasureImplemented',
          data: { measureId: US_MEASURE, effectiveAt: '2025-04-09T04:01:00.000Z', sources },
        },
      ]);
  });

  it('records a measure first known when it took effect', () => {
    spec
      .given([])
      .when({
        type: 'ImplementMeasure',
        data: {
          measureId: US_MEASURE,
          measure: definitionInput({ timeZone: undefined }),
          effectiveAt: '2025-04-09T04:01:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureImplemented',
          data: {
            measureId: US_MEASURE,
            measure: { ...usReciprocal, timeZone: 'UTC' },
            effectiveAt: '2025-04-09T04:01:00.000Z',
            sources,
          },
        },
      ]);
  });

  const announced = {
    type: 'MeasureAnnounced' as const,
    data: {
      measureId: US_MEASURE,
      measure: usReciprocal,
      effectiveAt: '2025-04-02T20:00:00.000Z',
      sources,
    },
  };

  it('rejects an entry into force dated before the announcement', () => {
    const error = spec
      .given([announced])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-01T04:01:00Z', sources },
      })
      .thenThrows('effective-before-announced');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      effectiveAt: '2025-04-01T04:01:00.000Z',
      announcedAt: '2025-04-02T20:00:00.000Z',
    });
  });

  it('puts a measure in force at the instant it is announced (immediate effect)', () => {
    spec
      .given([announced])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-02T20:00:00Z', sources },
      })
      .then([expect.objectContaining({ type: 'MeasureImplemented' })]);
  });

  it('rejects an entry into force dated before the threat', () => {
    spec
      .given([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: US_MEASURE,
            measure: usReciprocal,
            effectiveAt: '2025-10-10T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-10-01T00:00:00Z', sources },
      })
      .thenThrows('effective-before-threatened');
  });

  it('requires the terms of a new measure', () => {
    spec
      .given([])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-09T04:01:00Z', sources },
      })
      .thenThrows('measure-definition-required');
  });

  it('rejects a measure already in force', () => {
    spec
      .given([implemented()])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-10T04:01:00Z', sources },
      })
      .thenThrows('measure-already-implemented');
  });

  it('rejects a revoked measure', () => {
    spec
      .given([
        {
          type: 'MeasureAnnounced',
          data: {
            measureId: US_MEASURE,
            measure: usReciprocal,
            effectiveAt: '2025-04-02T20:00:00.000Z',
            sources,
          },
        },
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-04-03T00:00:00.000Z', sources } },
      ])
      .when({
        type: 'ImplementMeasure',
        data: { measureId: US_MEASURE, effectiveAt: '2025-04-09T04:01:00Z', sources },
      })
      .thenThrows('measure-revoked');
  });
});

describe('RecordMeasure', () => {
  it('records announcement, entry into force and countermeasure links in one go', () => {
    spec
      .given([])
      .when({
        type: 'RecordMeasure',
        data: {
          measureId: CN_MEASURE,
          measure: cnCountermeasure,
          announcedAt: '2025-04-04T18:00:00+08:00',
          effectiveAt: '2025-04-10T12:01:00+08:00',
          respondsTo: [usMeasureRef],
          sources: [mofcom],
        },
      })
      .then([
        {
          type: 'MeasureAnnounced',
          data: {
            measureId: CN_MEASURE,
            measure: cnCountermeasure,
            effectiveAt: '2025-04-04T10:00:00.000Z',
            sources: [mofcom],
          },
        },
        {
          type: 'MeasureImplemented',
          data: {
            measureId: CN_MEASURE,
            effectiveAt: '2025-04-10T04:01:00.000Z',
            sources: [mofcom],
          },
        },
        {
          type: 'CountermeasureLinked',
          data: {
            respondsTo: US_MEASURE,
            effectiveAt: '2025-04-04T10:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('records a bare threat', () => {
    spec
      .given([])
      .when({
        type: 'RecordMeasure',
        data: {
          measureId: 'm',
          measure: usReciprocal,
          threatenedAt: '2025-10-10T00:00:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: 'm',
            measure: usReciprocal,
            effectiveAt: '2025-10-10T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('records a measure announced with immediate effect', () => {
    spec
      .given([])
      .when({
        type: 'RecordMeasure',
        data: {
          measureId: 'm',
          measure: cnCountermeasure,
          announcedAt: '2024-12-02T16:00:00Z',
          effectiveAt: '2024-12-02T16:00:00Z',
          sources,
        },
      })
      .then([
        expect.objectContaining({ type: 'MeasureAnnounced' }),
        expect.objectContaining({ type: 'MeasureImplemented' }),
      ]);
  });

  it.each([
    [
      'effective-before-announced',
      { announcedAt: '2025-04-02T20:00:00Z', effectiveAt: '2025-03-01T00:00:00Z' },
      'effectiveAt',
    ],
    [
      'announced-before-threatened',
      { threatenedAt: '2025-10-10T00:00:00Z', announcedAt: '2025-10-01T00:00:00Z' },
      'announcedAt',
    ],
    [
      'effective-before-threatened',
      { threatenedAt: '2025-10-10T00:00:00Z', effectiveAt: '2025-10-01T00:00:00Z' },
      'effectiveAt',
    ],
  ])('rejects %s, naming the field out of order (%j)', (code, dates, field) => {
    const error = spec
      .given([])
      .when({
        type: 'RecordMeasure',
        data: { measureId: 'm', measure: usReciprocal, ...dates, sources },
      })
      .thenThrows(code as never);
    expect(error.kind).toBe('invalid');
    expect(error.details.field).toBe(field);
  });

  it('needs at least one date', () => {
    spec
      .given([])
      .when({ type: 'RecordMeasure', data: { measureId: 'm', measure: usReciprocal, sources } })
      .thenThrows('measure-date-required');
  });

  it('rejects a measure that already exists', () => {
    spec
      .given([implemented()])
      .when({
        type: 'RecordMeasure',
        data: {
          measureId: US_MEASURE,
          measure: usReciprocal,
          effectiveAt: '2025-04-09T04:01:00Z',
          sources,
        },
      })
      .thenThrows('measure-already-exists');
  });

  it('applies every invariant of the single commands (party mismatch on a link)', () => {
    spec
      .given([])
      .when({
        type: 'RecordMeasure',
        data: {
          measureId: CN_MEASURE,
          measure: cnCountermeasure,
          effectiveAt: '2025-04-10T04:01:00Z',
          respondsTo: [{ id: 'm-eu', imposingParty: 'DE', targetParties: ['FR'] }],
          sources,
        },
      })
      .thenThrows('countermeasure-party-mismatch');
  });
});

describe('AmendMeasure', () => {
  it('amends the rate from an instant', () => {
    spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: 84 },
          effectiveAt: '2025-04-09T04:01:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureRateAmended',
          data: {
            rate: { type: 'ad-valorem', percent: 84 },
            effectiveAt: '2025-04-09T04:01:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('amends rate and scope together', () => {
    spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: {
            type: 'ad-valorem',
            percent: 125,
            schedule: [{ from: '2025-05-14T04:01:00Z', percent: 34 }],
          },
          scope: { description: 'Products of China and Hong Kong', inclusions: ['HK'] },
          effectiveAt: '2025-04-10T04:01:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureRateAmended',
          data: {
            rate: {
              type: 'ad-valorem',
              percent: 125,
              schedule: [{ from: '2025-05-14T04:01:00.000Z', percent: 34 }],
            },
            effectiveAt: '2025-04-10T04:01:00.000Z',
            sources,
          },
        },
        {
          type: 'MeasureScopeAmended',
          data: {
            scope: { description: 'Products of China and Hong Kong', inclusions: ['HK'] },
            effectiveAt: '2025-04-10T04:01:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('rejects a scope that takes in the imposing party itself, naming it', () => {
    const error = spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: {
          scope: { inclusions: ['HK', 'US'] },
          effectiveAt: '2025-04-10T04:01:00Z',
          sources,
        },
      })
      .thenThrows('measure-targets-itself');
    expect(error.details).toEqual({ field: 'scope.inclusions[1]', imposingParty: 'US' });
  });

  it('rejects an empty amendment', () => {
    spec
      .given([implemented()])
      .when({ type: 'AmendMeasure', data: { effectiveAt: '2025-04-10T04:01:00Z', sources } })
      .thenThrows('amendment-empty');
  });

  it('rejects a negative rate', () => {
    spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: -10 },
          effectiveAt: '2025-04-10T04:01:00Z',
          sources,
        },
      })
      .thenThrows('negative-rate');
  });

  it('rejects a phased schedule out of order', () => {
    spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: {
            type: 'specific',
            amount: 400,
            currency: 'CNY',
            unit: 'net ton',
            schedule: [
              { from: '2027-04-17T00:00:00+08:00', amount: 880 },
              { from: '2026-04-17T00:00:00+08:00', amount: 640 },
            ],
          },
          effectiveAt: '2025-10-14T00:00:00+08:00',
          sources,
        },
      })
      .thenThrows('invalid-rate');
  });

  it('rejects a rate below a running suspended part', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: 20 },
          effectiveAt: '2025-06-01T00:00:00Z',
          sources,
        },
      })
      .thenThrows('suspended-part-exceeds-rate');
  });

  it('rejects a specific rate while points of it are suspended', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'specific', amount: 5, currency: 'USD', unit: 'kg' },
          effectiveAt: '2025-06-01T00:00:00Z',
          sources,
        },
      })
      .thenThrows('suspended-part-not-applicable');
  });

  it('allows a lower rate once the suspension has ended', () => {
    spec
      .given([implemented(), ...suspended()])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: 20 },
          effectiveAt: '2025-09-01T00:00:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'MeasureRateAmended',
          data: {
            rate: { type: 'ad-valorem', percent: 20 },
            effectiveAt: '2025-09-01T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('rejects an unknown measure', () => {
    spec
      .given([])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: 1 },
          effectiveAt: '2025-04-10T04:01:00Z',
          sources,
        },
      })
      .thenThrows('measure-not-found');
  });

  const rateTo = (percent: number, effectiveAt: string) => ({
    type: 'AmendMeasure' as const,
    data: { rate: { type: 'ad-valorem' as const, percent }, effectiveAt, sources },
  });
  const announced = {
    type: 'MeasureAnnounced' as const,
    data: {
      measureId: US_MEASURE,
      measure: usReciprocal,
      effectiveAt: '2025-04-02T20:00:00.000Z',
      sources,
    },
  };

  it('rejects an amendment dated before the measure was announced (2020, for 2025)', () => {
    const error = spec
      .given([announced, implemented(undefined, '2025-04-09T04:01:00.000Z')])
      .when(rateTo(84, '2020-01-01T00:00:00Z'))
      .thenThrows('amended-before-measure');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      effectiveAt: '2020-01-01T00:00:00.000Z',
      measureSince: '2025-04-02T20:00:00.000Z',
    });
  });

  it('rejects a scope amendment dated before a measure never announced took effect', () => {
    const error = spec
      .given([implemented()])
      .when({
        type: 'AmendMeasure',
        data: { scope: { inclusions: ['HK'] }, effectiveAt: '2025-04-01T00:00:00Z', sources },
      })
      .thenThrows('amended-before-measure');
    expect(error.details).toMatchObject({ measureSince: '2025-04-09T04:01:00.000Z' });
  });

  it('rejects amending a threat before it was made', () => {
    spec
      .given([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: 'm',
            measure: usReciprocal,
            effectiveAt: '2025-10-10T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when(rateTo(100, '2025-10-01T00:00:00Z'))
      .thenThrows('amended-before-measure');
  });

  it('amends from the announcement on, before the entry into force (84% from 9 April)', () => {
    spec
      .given([announced])
      .when(rateTo(84, '2025-04-02T20:00:00Z'))
      .then([expect.objectContaining({ type: 'MeasureRateAmended' })]);
    spec
      .given([announced])
      .when(rateTo(84, '2025-04-08T20:00:00Z'))
      .then([expect.objectContaining({ type: 'MeasureRateAmended' })]);
  });

  it('rejects a revoked measure', () => {
    spec
      .given([
        implemented(),
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-06-01T00:00:00.000Z', sources } },
      ])
      .when({
        type: 'AmendMeasure',
        data: {
          rate: { type: 'ad-valorem', percent: 1 },
          effectiveAt: '2025-07-01T00:00:00Z',
          sources,
        },
      })
      .thenThrows('measure-revoked');
  });
});

describe('LinkCountermeasure', () => {
  it('links a countermeasure to the measure it answers', () => {
    spec
      .given([cnImplemented])
      .when({
        type: 'LinkCountermeasure',
        data: { respondsTo: usMeasureRef, effectiveAt: '2025-04-04T10:00:00Z', sources },
      })
      .then([
        {
          type: 'CountermeasureLinked',
          data: { respondsTo: US_MEASURE, effectiveAt: '2025-04-04T10:00:00.000Z', sources },
        },
      ]);
  });

  it('defaults the effective instant to now', () => {
    spec
      .given([cnImplemented])
      .when(
        { type: 'LinkCountermeasure', data: { respondsTo: usMeasureRef, sources } },
        { now: '2025-12-01T00:00:00Z' },
      )
      .then([
        {
          type: 'CountermeasureLinked',
          data: { respondsTo: US_MEASURE, effectiveAt: '2025-12-01T00:00:00.000Z', sources },
        },
      ]);
  });

  it('rejects a countermeasure whose imposing party is not a target of the answered measure', () => {
    spec
      .given([cnImplemented])
      .when({
        type: 'LinkCountermeasure',
        data: { respondsTo: { id: 'm-jp', imposingParty: 'US', targetParties: ['JP'] }, sources },
      })
      .thenThrows('countermeasure-party-mismatch');
  });

  it('rejects answering a measure of a party the countermeasure does not target', () => {
    spec
      .given([cnImplemented])
      .when({
        type: 'LinkCountermeasure',
        data: { respondsTo: { id: 'm-jp', imposingParty: 'JP', targetParties: ['CN'] }, sources },
      })
      .thenThrows('countermeasure-party-mismatch');
  });

  it('rejects an unknown answered measure', () => {
    spec
      .given([cnImplemented])
      .when({
        type: 'LinkCountermeasure',
        data: { respondsTo: null as unknown as MeasureRef, sources },
      })
      .thenThrows('measure-not-found');
  });

  it('rejects a second link to the same measure', () => {
    spec
      .given([
        cnImplemented,
        {
          type: 'CountermeasureLinked',
          data: { respondsTo: US_MEASURE, effectiveAt: '2025-04-04T10:00:00.000Z', sources },
        },
      ])
      .when({ type: 'LinkCountermeasure', data: { respondsTo: usMeasureRef, sources } })
      .thenThrows('countermeasure-already-linked');
  });

  it('rejects an unknown countermeasure', () => {
    spec
      .given([])
      .when({ type: 'LinkCountermeasure', data: { respondsTo: usMeasureRef, sources } })
      .thenThrows('measure-not-found');
  });
});

describe('RevokeMeasure', () => {
  it('revokes a measure', () => {
    spec
      .given([implemented()])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-11-10T05:01:00Z', sources } })
      .then([
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-11-10T05:01:00.000Z', sources } },
      ]);
  });

  it('withdraws a threat that was never carried out', () => {
    spec
      .given([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: 'm',
            measure: usReciprocal,
            effectiveAt: '2025-10-10T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-10-26T00:00:00Z', sources } })
      .then([
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-10-26T00:00:00.000Z', sources } },
      ]);
  });

  const announcedThenInForce = [
    {
      type: 'MeasureAnnounced' as const,
      data: {
        measureId: US_MEASURE,
        measure: usReciprocal,
        effectiveAt: '2025-04-02T20:00:00.000Z',
        sources,
      },
    },
    {
      type: 'MeasureImplemented' as const,
      data: { measureId: US_MEASURE, effectiveAt: '2025-04-09T04:01:00.000Z', sources },
    },
  ];

  it('withdraws an announced measure before the entry into force on record', () => {
    spec
      .given(announcedThenInForce)
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-04-05T00:00:00Z', sources } })
      .then([
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-04-05T00:00:00.000Z', sources } },
      ]);
  });

  it('rejects a revocation dated before the measure was announced (2020, for 2025)', () => {
    const error = spec
      .given(announcedThenInForce)
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2020-01-01T00:00:00Z', sources } })
      .thenThrows('revoked-before-measure');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'effectiveAt',
      effectiveAt: '2020-01-01T00:00:00.000Z',
      measureSince: '2025-04-02T20:00:00.000Z',
    });
  });

  it('rejects a revocation dated before a measure never announced took effect', () => {
    const error = spec
      .given([implemented()])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-04-01T00:00:00Z', sources } })
      .thenThrows('revoked-before-measure');
    expect(error.details).toMatchObject({ measureSince: '2025-04-09T04:01:00.000Z' });
  });

  it('rejects withdrawing a threat before it was made', () => {
    spec
      .given([
        {
          type: 'MeasureThreatened',
          data: {
            measureId: 'm',
            measure: usReciprocal,
            effectiveAt: '2025-10-10T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-10-01T00:00:00Z', sources } })
      .thenThrows('revoked-before-measure');
  });

  it('rejects revoking twice', () => {
    spec
      .given([
        implemented(),
        { type: 'MeasureRevoked', data: { effectiveAt: '2025-11-10T05:01:00.000Z', sources } },
      ])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-11-11T05:01:00Z', sources } })
      .thenThrows('measure-revoked');
  });

  it('rejects an unknown measure', () => {
    spec
      .given([])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-11-11T05:01:00Z', sources } })
      .thenThrows('measure-not-found');
  });

  it('requires a source', () => {
    spec
      .given([implemented()])
      .when({ type: 'RevokeMeasure', data: { effectiveAt: '2025-11-11T05:01:00Z', sources: [] } })
      .thenThrows('source-required');
  });
});

describe('RecordPartyClaim', () => {
  it("records one party's account beside the other's", () => {
    spec
      .given([implemented()])
      .when({
        type: 'RecordPartyClaim',
        data: {
          party: 'CN',
          about: 'rate',
          statement: 'The US will remove the 10% so-called fentanyl tariff',
          effectiveAt: '2025-10-30T00:00:00Z',
          sources: [mofcom],
        },
      })
      .then([
        {
          type: 'PartyClaimRecorded',
          data: {
            claimId: 'id-1',
            party: 'CN',
            about: 'rate',
            statement: 'The US will remove the 10% so-called fentanyl tariff',
            effectiveAt: '2025-10-30T00:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('rejects an invalid party code', () => {
    spec
      .given([implemented()])
      .when({ type: 'RecordPartyClaim', data: { party: 'China', statement: 'x', sources } })
      .thenThrows('invalid-party-code');
  });

  it('rejects an empty statement', () => {
    spec
      .given([implemented()])
      .when({ type: 'RecordPartyClaim', data: { party: 'CN', statement: ' ', sources } })
      .thenThrows('text-required');
  });

  it('rejects an unknown measure', () => {
    spec
      .given([])
      .when({ type: 'RecordPartyClaim', data: { party: 'CN', statement: 'x', sources } })
      .thenThrows('measure-not-found');
  });
});

describe('RetractEvent', () => {
  const wrongRevocation = {
    type: 'MeasureRevoked' as const,
    data: { effectiveAt: '2025-10-10T00:00:00.000Z', sources },
    metadata: { eventId: 'e-wrong' },
  };

  it('retracts an earlier event', () => {
    spec
      .given([implemented(), wrongRevocation])
      .when(
        {
          type: 'RetractEvent',
          data: { eventId: 'e-wrong', reason: 'Misread the news item', sources },
        },
        { now: '2025-10-11T00:00:00Z' },
      )
      .then([
        {
          type: 'EventRetracted',
          data: {
            eventId: 'e-wrong',
            reason: 'Misread the news item',
            effectiveAt: '2025-10-11T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('allows retracting a wrong retraction', () => {
    spec
      .given([
        implemented(),
        wrongRevocation,
        {
          type: 'EventRetracted',
          data: {
            eventId: 'e-wrong',
            reason: 'x',
            effectiveAt: '2025-10-11T00:00:00.000Z',
            sources,
          },
          metadata: { eventId: 'e-retraction' },
        },
      ])
      .when({
        type: 'RetractEvent',
        data: { eventId: 'e-retraction', reason: 'The revocation was right', sources },
      })
      .then([expect.objectContaining({ type: 'EventRetracted' })]);
  });

  it('rejects an unknown event', () => {
    spec
      .given([implemented()])
      .when({ type: 'RetractEvent', data: { eventId: 'nope', reason: 'x', sources } })
      .thenThrows('event-not-found');
  });

  it('refuses to retract the start of a suspension with a fixed start: its scheduling sets it', () => {
    const [scheduling, start] = suspended();
    const error = spec
      .given([implemented(), scheduling, { ...start, metadata: { eventId: 'e-started' } }])
      .when({ type: 'RetractEvent', data: { eventId: 'e-started', reason: 'x', sources } })
      .thenThrows('fixed-start-not-retractable');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'eventId',
      eventId: 'e-started',
      suspensionId: 's-geneva',
      schedulingEventId: 'e-scheduled-s-geneva',
    });
    // The scheduling is what is retracted, and its start goes with it.
    spec
      .given([implemented(), scheduling, { ...start, metadata: { eventId: 'e-started' } }])
      .when({
        type: 'RetractEvent',
        data: { eventId: 'e-scheduled-s-geneva', reason: 'x', sources },
      })
      .then([expect.objectContaining({ type: 'EventRetracted' })]);
  });

  it('retracts the start a trigger gave a conditional suspension: it waits again', () => {
    const waiting = suspended({
      startsAt: undefined,
      endsAt: undefined,
      startsWhen: { measure: 'm-trigger', suspension: 's-trigger' },
    });
    spec
      .given([
        implemented(),
        ...waiting,
        {
          type: 'SuspensionStarted',
          data: {
            suspensionId: 's-geneva',
            startsAt: '2025-05-14T04:01:00.000Z',
            endsAt: '2025-08-12T04:01:00.000Z',
            effectiveAt: '2025-05-14T04:01:00.000Z',
            sources,
          },
          metadata: { eventId: 'e-started', actor: 'system' },
        },
      ])
      .when({ type: 'RetractEvent', data: { eventId: 'e-started', reason: 'x', sources } })
      .then([expect.objectContaining({ type: 'EventRetracted' })]);
  });

  it('rejects an event already retracted', () => {
    spec
      .given([
        implemented(),
        wrongRevocation,
        {
          type: 'EventRetracted',
          data: {
            eventId: 'e-wrong',
            reason: 'x',
            effectiveAt: '2025-10-11T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when({ type: 'RetractEvent', data: { eventId: 'e-wrong', reason: 'again', sources } })
      .thenThrows('event-already-retracted');
  });

  it('requires a reason', () => {
    spec
      .given([implemented()])
      .when({ type: 'RetractEvent', data: { eventId: 'e-implemented', reason: '', sources } })
      .thenThrows('text-required');
  });

  it('requires a source', () => {
    spec
      .given([implemented()])
      .when({ type: 'RetractEvent', data: { eventId: 'e-implemented', reason: 'x', sources: [] } })
      .thenThrows('source-required');
  });
});
