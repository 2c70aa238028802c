import { DomainError } from './domain-error';
import {
  addDurations,
  isBefore,
  isIsoDuration,
  minusDuration,
  plusDuration,
  toInstant,
  toMillis,
  toTimeZone,
} from './instant';

describe('plusDuration', () => {
  it('adds one year in the legal time zone: 2025-11-10 00:01 New York + P1Y = 2026-11-10 00:01 New York', () => {
    expect(plusDuration('2025-11-10T00:01:00-05:00', 'P1Y', 'America/New_York')).toBe(
      '2026-11-10T05:01:00.000Z',
    );
  });

  it('keeps the local clock time across a daylight-saving change', () => {
    // 00:01 EDT (UTC-4) plus 90 days lands on 00:01 EST (UTC-5).
    expect(plusDuration('2025-08-12T04:01:00Z', 'P90D', 'America/New_York')).toBe(
      '2025-11-10T05:01:00.000Z',
    );
    expect(plusDuration('2025-08-12T04:01:00Z', 'P90D', 'UTC')).toBe('2025-11-10T04:01:00.000Z');
  });

  it('counts in Beijing time for Chinese measures', () => {
    expect(plusDuration('2025-11-10T13:01:00+08:00', 'P1Y', 'Asia/Shanghai')).toBe(
      '2026-11-10T05:01:00.000Z',
    );
  });

  it('subtracts alert lead times', () => {
    expect(minusDuration('2026-11-10T05:01:00Z', 'P90D', 'America/New_York')).toBe(
      '2026-08-12T04:01:00.000Z',
    );
    expect(minusDuration('2026-11-10T05:01:00Z', 'PT0S', 'America/New_York')).toBe(
      '2026-11-10T05:01:00.000Z',
    );
  });

  it('adds durations component-wise', () => {
    expect(addDurations('P1Y', 'P90D')).toBe('P1Y90D');
  });
});

describe('validation', () => {
  it.each(['P1Y', 'P90D', 'P1W', 'PT12H', 'P1Y2M3DT4H5M6.5S'])(
    'accepts the duration %s',
    (value) => {
      expect(isIsoDuration(value)).toBe(true);
    },
  );

  it.each(['', 'P', 'PT', '1Y', 'P-1Y', '-P1Y', 'P0D', 'P1.5Y', 'p1y', 90])(
    'rejects the duration %j',
    (value) => {
      expect(isIsoDuration(value)).toBe(false);
    },
  );

  it('accepts a zero duration only when asked to', () => {
    expect(isIsoDuration('PT0S', { allowZero: true })).toBe(true);
  });

  it.each(['2025-11-10T00:01:00-05:00', '2025-11-10T05:01Z', '2025-11-10T13:01:00+0800'])(
    'normalises the instant %s to UTC',
    (value) => {
      expect(toInstant(value)).toBe('2025-11-10T05:01:00.000Z');
    },
  );

  it.each([
    '2025-11-10',
    '2025-11-10T05:01:00',
    '2025-02-30T00:00:00Z',
    '2025-02-30T00:00:00.000Z',
    'yesterday',
    1731214860000,
  ])('rejects the instant %j', (value) => {
    expect(() => toInstant(value)).toThrow(expect.objectContaining({ code: 'invalid-instant' }));
  });

  it('orders canonical and offset spellings of instants by the moment they name', () => {
    expect(toMillis('2025-11-10T05:01:00.000Z')).toBe(Date.UTC(2025, 10, 10, 5, 1));
    expect(toMillis('2025-11-10T00:01:00-05:00')).toBe(Date.UTC(2025, 10, 10, 5, 1));
    expect(isBefore('2025-11-10T05:00:59.999Z', '2025-11-10T00:01:00-05:00')).toBe(true);
  });

  it('canonicalises an IANA time zone and rejects anything else', () => {
    expect(toTimeZone('america/new_york')).toBe('America/New_York');
    expect(toTimeZone('UTC')).toBe('UTC');
    // The name the user chose, not ICU's oldest alias of it.
    expect(toTimeZone('Europe/Kyiv')).toBe('Europe/Kyiv');
    expect(toTimeZone('Asia/Kolkata')).toBe('Asia/Kolkata');
    expect(toTimeZone('US/Eastern')).toBe('US/Eastern');
    for (const zone of ['EST5EDT-ish', 'Mars/Olympus', '+05:00', '']) {
      expect(() => toTimeZone(zone)).toThrow(DomainError);
    }
  });
});

describe('the storable range (years 0001–9999 in UTC)', () => {
  // An instant outside it would be refused by every read model for good (the log is immutable),
  // so it is refused before it is recorded.
  it.each([
    '0000-01-01T00:00:00Z',
    '0000-06-01T00:00:00.000Z',
    '0001-01-01T00:00:00+01:00',
    '9999-12-31T23:59:59-14:00',
  ])('refuses the instant %s', (value) => {
    expect(() => toInstant(value, 'effectiveAt')).toThrow(
      expect.objectContaining({ code: 'invalid-instant' }) as DomainError,
    );
  });

  it('refuses a Date past year 9999', () => {
    expect(() => toInstant(new Date(Date.UTC(10_000, 0, 1)))).toThrow(DomainError);
  });

  it('keeps both ends of the range', () => {
    expect(toInstant('0001-01-01T00:00:00Z')).toBe('0001-01-01T00:00:00.000Z');
    expect(toInstant('9999-12-31T23:59:59+00:00')).toBe('9999-12-31T23:59:59.000Z');
  });

  it.each(['P300000Y', 'P999999999999Y', 'P7975Y'])(
    'refuses a duration that takes the end out of it: %s',
    (duration) => {
      expect(() => plusDuration('2026-02-01T00:00:00Z', duration, 'UTC')).toThrow(
        expect.objectContaining({ code: 'invalid-duration' }) as DomainError,
      );
    },
  );

  it('refuses a lead time that takes the fire time before it', () => {
    expect(() => minusDuration('2026-02-01T00:00:00Z', 'P2026Y', 'UTC')).toThrow(DomainError);
  });
});
