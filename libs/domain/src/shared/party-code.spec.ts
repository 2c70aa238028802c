import { ISO_3166_ALPHA_2, isPartyCode } from './party-code';

describe('party codes', () => {
  it('lists the 249 assigned ISO 3166-1 alpha-2 codes, once each', () => {
    expect(ISO_3166_ALPHA_2).toHaveLength(249);
    expect(new Set(ISO_3166_ALPHA_2).size).toBe(249);
  });

  it.each(['US', 'CN', 'HK', 'MO', 'TW', 'AX', 'SS', 'ZW'])('accepts %s', (code) => {
    expect(isPartyCode(code)).toBe(true);
  });

  it.each(['us', 'USA', 'EU', 'XK', 'UK', 'ZZ', '', 1])('rejects %j', (code) => {
    expect(isPartyCode(code)).toBe(false);
  });
});
