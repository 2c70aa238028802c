import { eventTypeMatches, normalizeLeadTime, subscriptionMatches } from './webhook-matching';
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
  });
});

describe('normalizeLeadTime', () => {
  it('treats every zero as PT0S and keeps other durations by meaning', () => {
    expect(normalizeLeadTime('P0D')).toBe('PT0S');
    expect(normalizeLeadTime('PT0S')).toBe('PT0S');
    expect(normalizeLeadTime('P30D')).toBe('P30D');
    expect(normalizeLeadTime('PT24H')).not.toBe(normalizeLeadTime('P1D'));
  });
});
