import type { MeasureDefinitionInput } from '../measure/measure.commands';
import type { MeasureDefinition, MeasureEvent } from '../measure/measure.events';
import type { Source } from '../shared/source';
import type { GivenEvent } from './decider-spec';

export const whiteHouse: Source = {
  issuer: 'The White House',
  title: 'Executive Order 14257',
  documentNumber: 'EO 14257',
  official: true,
  confidence: 'H',
};

export const mofcom: Source = {
  issuer: 'MOFCOM',
  title: 'Spokesperson remarks on the Kuala Lumpur consensus',
  url: 'https://english.mofcom.gov.cn/News/SpokesmansRemarks/',
  official: true,
  language: 'en',
};

export const sources = [whiteHouse];

export const US_MEASURE = 'measure-us-reciprocal';
export const CN_MEASURE = 'measure-cn-countermeasure';

export const usReciprocal: MeasureDefinition = {
  code: 'us-reciprocal-cn',
  title: 'Reciprocal tariff on products of China',
  kind: 'tariff',
  imposingParty: 'US',
  targetParties: ['CN'],
  instrument: 'EO 14257',
  rate: { type: 'ad-valorem', percent: 34 },
  scope: { description: 'All products of China', hsCodes: ['9903.01.63'] },
  timeZone: 'America/New_York',
};

export const cnCountermeasure: MeasureDefinition = {
  code: 'cn-ann-4-2025',
  title: 'Additional tariff on all US goods',
  kind: 'tariff',
  imposingParty: 'CN',
  targetParties: ['US'],
  instrument: 'Tariff Commission Ann. No. 4 of 2025',
  rate: { type: 'ad-valorem', percent: 34 },
  timeZone: 'Asia/Shanghai',
};

export function definitionInput(
  overrides: Partial<MeasureDefinitionInput> = {},
): MeasureDefinitionInput {
  return { ...usReciprocal, ...overrides };
}

/** The US reciprocal tariff on China in force at 34% from 2025-04-09 00:01 EDT. */
export function implemented(
  overrides: Partial<MeasureDefinition> = {},
  effectiveAt = '2025-04-09T04:01:00.000Z',
): GivenEvent<MeasureEvent> {
  return {
    type: 'MeasureImplemented',
    data: {
      measureId: US_MEASURE,
      measure: { ...usReciprocal, ...overrides },
      effectiveAt,
      sources,
    },
    metadata: { eventId: 'e-implemented' },
  };
}

/** 24 of the 34 points suspended from 2025-05-14 00:01 EDT for 90 days. */
export function suspended(
  overrides: Partial<Extract<MeasureEvent, { type: 'SuspensionScheduled' }>['data']> = {},
): GivenEvent<MeasureEvent>[] {
  const data = {
    suspensionId: 's-geneva',
    startsAt: '2025-05-14T04:01:00.000Z',
    endsAt: '2025-08-12T04:01:00.000Z',
    duration: 'P90D',
    part: { percentPoints: 24 },
    reinstatesAutomatically: true,
    effectiveAt: '2025-05-14T04:01:00.000Z',
    sources,
    ...overrides,
  };
  const started: GivenEvent<MeasureEvent>[] =
    data.startsAt === undefined
      ? []
      : [
          {
            type: 'SuspensionStarted',
            data: {
              suspensionId: data.suspensionId,
              startsAt: data.startsAt,
              ...(data.endsAt && { endsAt: data.endsAt }),
              effectiveAt: data.startsAt,
              sources,
            },
          },
        ];
  return [
    {
      type: 'SuspensionScheduled',
      data,
      metadata: { eventId: `e-scheduled-${data.suspensionId}` },
    },
    ...started,
  ];
}
