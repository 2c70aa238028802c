import { DateTime, Duration } from 'luxon';
import {
  isMillisecondLeadTime,
  isSchedulableLeadTime,
  isValidLeadTime,
  isWithinMaxLeadTime,
} from './lead-time';

describe('the lead-time cap (P10Y as the calendar counts)', () => {
  it.each(['P10Y', 'P120M', 'P9Y12M', 'P3650D', 'P521W', 'P9Y11M15D', 'PT87600H', 'PT0S', 'P1D'])(
    'takes %s',
    (leadTime) => {
      expect(isWithinMaxLeadTime(leadTime)).toBe(true);
      expect(isValidLeadTime(leadTime)).toBe(true);
    },
  );

  it.each(['P121M', 'P10Y1M', 'P10YT1S', 'P10Y1D', 'P3651D', 'P9Y11M16D', 'PT87601H', 'P11Y'])(
    'refuses %s',
    (leadTime) => {
      expect(isWithinMaxLeadTime(leadTime)).toBe(false);
      expect(isValidLeadTime(leadTime)).toBe(false);
    },
  );

  it('never takes a lead time that reaches further back than P10Y, whatever the end and zone', () => {
    const zones = ['UTC', 'America/New_York'];
    // Ends on the last days of months (where adding months clamps), around daylight-saving
    // changes and in the decade whose ten years are shortest (2100 is no leap year).
    const ends: DateTime[] = [];
    for (const zone of zones)
      for (const year of [2028, 2103])
        for (let month = 1; month <= 12; month += 1)
          for (const day of [1, 29, 31]) {
            const end = DateTime.fromObject({ year, month, day, hour: 1, minute: 30 }, { zone });
            if (end.isValid && end.day === day) ends.push(end);
          }
    const candidates: string[] = [];
    for (let months = 108; months <= 121; months += 1)
      for (const days of [0, 1, 15, 16, 28, 200])
        for (const hours of [0, 1, 23]) {
          const time = hours ? `T${hours}H` : '';
          candidates.push(`P${months}M${days ? `${days}D` : ''}${time}`);
        }
    for (const days of [3640, 3649, 3650, 3651, 3652]) candidates.push(`P${days}D`);
    for (const hours of [87599, 87600, 87601, 87624]) candidates.push(`PT${hours}H`);
    let taken = 0;
    for (const leadTime of candidates.filter(isWithinMaxLeadTime)) {
      taken += 1;
      const duration = Duration.fromISO(leadTime);
      for (const end of ends) {
        const fire = end.minus(duration).toMillis();
        const cap = end.minus({ years: 10 }).toMillis();
        if (fire < cap) throw new Error(`${leadTime} before ${end.toISO()} reaches past P10Y`);
      }
    }
    expect(taken).toBeGreaterThan(40);
  });
});

describe('lead times to the millisecond', () => {
  it.each(['PT0.001S', 'PT1.5S', 'PT1.500S', 'PT1.5000000S', 'P1D', 'PT0S'])(
    'takes %s',
    (value) => {
      expect(isMillisecondLeadTime(value)).toBe(true);
      expect(isValidLeadTime(value)).toBe(true);
    },
  );

  it.each(['PT0.0001S', 'PT1.0005S', 'P1DT0.1234S'])('refuses %s', (value) => {
    expect(isMillisecondLeadTime(value)).toBe(false);
    expect(isValidLeadTime(value)).toBe(false);
  });
});

describe('lead times stored before the exact cap', () => {
  it('are still scheduled, though no longer taken', () => {
    for (const leadTime of ['P121M', 'P9Y11M16D', 'PT0.0001S']) {
      expect(isValidLeadTime(leadTime)).toBe(false);
      expect(isSchedulableLeadTime(leadTime)).toBe(true);
    }
    expect(isSchedulableLeadTime('P11Y')).toBe(false);
  });
});
