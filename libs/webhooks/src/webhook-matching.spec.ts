import { DateTime, Duration } from 'luxon';
import {
  distinctLeadTimesOf,
  eventTypeMatches,
  normalizeLeadTime,
  subscriptionMatches,
} from './webhook-matching';
import type { WebhookMatch } from './webhook-message';

const DEFAULTS = ['P90D', 'P30D', 'P7D', 'P1D', 'PT0S'];
const tariff: WebhookMatch = {
  parties: ['US', 'CN'],
  measureKind: 'tariff',
  measureId: '0d6c1f0e-7b1a-4a53-9f0e-1c2d3e4f5a6b',
  measureCode: 'US-IEEPA-FENTANYL',
  leadTime: 'P30D',
};
const all = { eventTypes: ['*'], filters: {}, leadTimes: [] };

describe('event type patterns', () => {
  it.each([
    ['*', 'ping', true],
    ['suspension.*', 'suspension.expiring', true],
    ['suspension.*', 'measure.status-changed', false],
    ['suspension.lapsed', 'suspension.lapsed', true],
    ['suspension.lapsed', 'suspension.expiring', false],
  ] as const)('%s matches %s: %s', (pattern, type, expected) => {
    expect(eventTypeMatches(pattern, type)).toBe(expected);
  });
});

describe('subscriptionMatches', () => {
  it('matches everything with no filters', () => {
    expect(subscriptionMatches(all, 'suspension.expiring', tariff, DEFAULTS)).toBe(true);
  });

  it('filters on parties (any in common, any case), kinds, and measure ids or codes', () => {
    const match = (filters: object) =>
      subscriptionMatches({ ...all, filters }, 'suspension.expiring', tariff, DEFAULTS);
    expect(match({ parties: ['cn', 'JP'] })).toBe(true);
    expect(match({ parties: ['JP'] })).toBe(false);
    expect(match({ measureKinds: ['tariff', 'sanction'] })).toBe(true);
    expect(match({ measureKinds: ['export-control'] })).toBe(false);
    expect(match({ measures: ['us-ieepa-fentanyl'] })).toBe(true);
    expect(match({ measures: [tariff.measureId] })).toBe(true);
    expect(match({ measures: ['CN-RARE-EARTHS'] })).toBe(false);
  });

  it('does not match a filter on something the message does not carry', () => {
    expect(
      subscriptionMatches(
        { ...all, filters: { measureKinds: ['tariff'] } },
        'agreement.recorded',
        { parties: ['US', 'CN'] },
        DEFAULTS,
      ),
    ).toBe(false);
  });

  it('matches a lead time against the subscription’s own, or the defaults when it has none', () => {
    const leads = (leadTimes: string[], leadTime: string) =>
      subscriptionMatches(
        { ...all, leadTimes },
        'suspension.expiring',
        { ...tariff, leadTime },
        DEFAULTS,
      );
    expect(leads([], 'P30D')).toBe(true);
    expect(leads([], 'P14D')).toBe(false);
    expect(leads(['P14D'], 'P14D')).toBe(true);
    expect(leads(['P14D'], 'P30D')).toBe(false);
    expect(leads(['P0D'], 'PT0S')).toBe(true);
    expect(leads(['PT60S'], 'PT1M')).toBe(true);
    expect(leads(['P1W'], 'P7D')).toBe(true);
    expect(leads([], 'P1W')).toBe(true);
  });

  it('matches measure kinds in any case (rows stored before kinds were lower-cased)', () => {
    const match = (measureKinds: string[]) =>
      subscriptionMatches(
        { ...all, filters: { measureKinds } },
        'suspension.expiring',
        tariff,
        DEFAULTS,
      );
    expect(match(['Tariff'])).toBe(true);
    expect(match(['TARIFF', 'sanction'])).toBe(true);
    expect(match(['tarif'])).toBe(false);
  });
});

describe('normalizeLeadTime', () => {
  it('treats every zero as PT0S and keeps other durations by meaning', () => {
    expect(normalizeLeadTime('P0D')).toBe('PT0S');
    expect(normalizeLeadTime('PT0S')).toBe('PT0S');
    expect(normalizeLeadTime('P30D')).toBe('P30D');
    expect(normalizeLeadTime('PT24H')).not.toBe(normalizeLeadTime('P1D'));
  });

  it.each([
    ['PT60S', 'PT1M'],
    ['PT1M', 'PT1M'],
    ['PT3600S', 'PT1H'],
    ['PT90M', 'PT1H30M'],
    ['PT1H30M', 'PT1H30M'],
    ['PT90S', 'PT1M30S'],
    ['PT1.5S', 'PT1.5S'],
    ['PT36H', 'PT36H'],
    ['P1W', 'P7D'],
    ['P2W3D', 'P17D'],
    ['P12M', 'P1Y'],
    ['P18M', 'P1Y6M'],
    ['P1Y', 'P1Y'],
    ['P1DT24H', 'P1DT24H'],
    ['P1WT60M', 'P7DT1H'],
    ['P90D', 'P90D'],
    ['PT12H', 'PT12H'],
    ['PT0.0001S', 'PT0S'],
  ])('folds fixed-length units: %s is %s', (written, canonical) => {
    expect(normalizeLeadTime(written)).toBe(canonical);
  });

  it('keeps calendar units apart from exact ones', () => {
    expect(normalizeLeadTime('PT24H')).toBe('PT24H');
    expect(normalizeLeadTime('P1D')).toBe('P1D');
    expect(normalizeLeadTime('P1M')).not.toBe(normalizeLeadTime('P30D'));
    expect(normalizeLeadTime('P1Y')).not.toBe(normalizeLeadTime('P365D'));
    expect(normalizeLeadTime('P1DT24H')).not.toBe(normalizeLeadTime('P2D'));
  });

  it('gives the same fire time as what was written, in any zone, across DST and month ends', () => {
    // As the alert plan computes a fire time: the end in its zone minus the lead time.
    const fireAt = (end: DateTime, leadTime: string) =>
      end.minus(Duration.fromISO(leadTime)).toMillis();
    const written = ['PT60S', 'PT90M', 'P1W', 'P2W3D', 'P12M', 'P18M', 'P1Y1M1WT3600S', 'P1DT24H'];
    const differing: string[] = [];
    for (const zone of ['America/New_York', 'Europe/London', 'Australia/Lord_Howe']) {
      // Every 97 hours over two years: days across each month, each DST change, a leap day.
      for (let end = DateTime.fromISO('2027-12-28T00:30:00', { zone }); end.year < 2030;) {
        end = end.plus({ hours: 97 });
        for (const leadTime of written) {
          if (fireAt(end, normalizeLeadTime(leadTime)) !== fireAt(end, leadTime))
            differing.push(`${leadTime} before ${end.toISO()}`);
        }
      }
    }
    expect(differing).toEqual([]);
  });
});

describe('distinctLeadTimesOf', () => {
  it('keeps each lead time once, by meaning, in canonical form and first-come order', () => {
    expect(distinctLeadTimesOf(['PT1M', 'PT60S', 'P7D', 'P1W', 'P0D', 'PT0S'])).toEqual([
      'PT1M',
      'P7D',
      'PT0S',
    ]);
    expect(distinctLeadTimesOf(['PT24H', 'P1D'])).toEqual(['PT24H', 'P1D']);
  });
});
