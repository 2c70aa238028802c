import { rateAt, roundPoints, toRate } from './rate';

describe('rates', () => {
  const portFees = toRate({
    type: 'specific',
    amount: 400,
    currency: 'CNY',
    unit: 'net ton',
    schedule: [
      { from: '2026-04-17T00:00:00+08:00', amount: 640 },
      { from: '2027-04-17T00:00:00+08:00', amount: 880 },
      { from: '2028-04-17T00:00:00+08:00', amount: 1120 },
    ],
  });

  it('resolves a phased schedule at an instant', () => {
    expect(rateAt(portFees, '2025-10-14T00:00:00.000Z')).toEqual({
      type: 'specific',
      amount: 400,
      currency: 'CNY',
      unit: 'net ton',
    });
    expect(rateAt(portFees, '2026-04-16T16:00:00.000Z')).toMatchObject({ amount: 640 });
    expect(rateAt(portFees, '2030-01-01T00:00:00.000Z')).toMatchObject({ amount: 1120 });
  });

  it('accepts zero and rejects negative or non-numeric amounts', () => {
    expect(toRate({ type: 'ad-valorem', percent: 0 })).toEqual({ type: 'ad-valorem', percent: 0 });
    expect(() => toRate({ type: 'ad-valorem', percent: -0.5 })).toThrow(
      expect.objectContaining({ code: 'negative-rate' }),
    );
    expect(() => toRate({ type: 'ad-valorem', percent: '34' })).toThrow(
      expect.objectContaining({ code: 'invalid-rate' }),
    );
    expect(() =>
      toRate({
        type: 'ad-valorem',
        percent: 34,
        schedule: [{ from: '2026-01-01T00:00:00Z', percent: -1 }],
      }),
    ).toThrow(expect.objectContaining({ code: 'negative-rate' }));
    expect(() => toRate({ type: 'specific', amount: 1, currency: 'USD', unit: '' })).toThrow(
      expect.objectContaining({ code: 'invalid-rate' }),
    );
    expect(() => toRate(null)).toThrow(expect.objectContaining({ code: 'invalid-rate' }));
  });

  it('rounds away binary-float noise', () => {
    expect(roundPoints(34 - 24.3)).toBe(9.7);
  });
});
