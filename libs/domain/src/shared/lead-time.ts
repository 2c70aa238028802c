import { Duration } from 'luxon';
import { ISO_DURATION, isIsoDuration } from './instant';

/** The longest lead time an alert may have: ten years before a suspension's end. */
export const MAX_LEAD_TIME = 'P10Y';
const MAX_LEAD_TIME_MS = Duration.fromISO(MAX_LEAD_TIME).toMillis();

/** `isValidLeadTime` in words, for messages and documentation. */
export const LEAD_TIME_RULE =
  `from PT0S up to ${MAX_LEAD_TIME} as the calendar counts, to the millisecond: years and ` +
  'months together at most 120 months; with weeks, days or hours as well, at most 3650 days, ' +
  'counting 12 months as 366 days and a month as 31 days';

/**
 * A lead time alerts can be scheduled at: an ISO 8601 duration the domain accepts (`PT0S` for
 * the end itself) no longer than about `MAX_LEAD_TIME`, so that its fire time is an instant
 * (subtracting a million years from an end is not). The schedule's rule: it ignores rows that
 * fail it, and schedules every lead time stored before `isValidLeadTime` tightened what is
 * taken (`P121M`, `PT0.0001S`).
 */
export function isSchedulableLeadTime(leadTime: string): boolean {
  return (
    isIsoDuration(leadTime, { allowZero: true }) &&
    Duration.fromISO(leadTime).toMillis() <= MAX_LEAD_TIME_MS
  );
}

/**
 * A lead time Accord takes (`ALERT_LEAD_TIMES`, a subscription's): schedulable, at most
 * `MAX_LEAD_TIME` as the calendar counts, and to the millisecond.
 */
export function isValidLeadTime(leadTime: string): boolean {
  return (
    isSchedulableLeadTime(leadTime) &&
    isWithinMaxLeadTime(leadTime) &&
    isMillisecondLeadTime(leadTime)
  );
}

const DAY_MS = 86_400_000;
/** P10Y in months: years and months compare exactly with it. */
const MAX_MONTHS = 120;
/**
 * The days a lead time with days or hours may span at its longest: 3650, a day short of the
 * fewest ten calendar years span (3651, from 2093-03-01 to 2103-03-01: 2100 is no leap year),
 * which leaves room for a daylight-saving hour, and as many as the domain's rule takes
 * (`isSchedulableLeadTime` counts P10Y as 3650 days).
 */
const MAX_DAYS = 3650;

/**
 * Whether a lead time is to the millisecond: seconds with at most three decimals that count
 * (`PT1.5S`, `PT1.500000S`), not `PT0.0001S`, which would fire at the end itself.
 */
export function isMillisecondLeadTime(leadTime: string): boolean {
  const fraction = ISO_DURATION.exec(leadTime)?.[8];
  return fraction === undefined || /^\d{0,3}0*$/.test(fraction);
}

/**
 * Whether a lead time is at most `MAX_LEAD_TIME` (P10Y) wherever the end falls, comparing
 * calendar units as the calendar does (not luxon's "casual" 30-day month, which let `P121M`
 * through): years and months together at most 120 months (`P10Y`, `P120M`, `P9Y12M`); with
 * weeks, days, hours, minutes or seconds as well, the whole counted at its longest (12 months
 * as 366 days, a month as 31 days, weeks as 7 days) must be at most 3650 days. So `P10Y`,
 * `P3650D`, `P9Y11M15D` and `PT87600H` are in; `P121M`, `P10YT1S`, `P3651D` and `P9Y11M16D` are
 * not. It never lets a lead time longer than P10Y through, at any end in any zone (an hour's
 * daylight-saving change included); it refuses some mixes of months and days near the cap that
 * are shorter at every end (`P9Y11M16D`), which nobody needs.
 */
export function isWithinMaxLeadTime(leadTime: string): boolean {
  const parts = ISO_DURATION.exec(leadTime);
  if (!parts) return false;
  const [years, months, weeks, days, hours, minutes, seconds] = parts
    .slice(1, 8)
    .map((part) => (part === undefined ? 0 : Number(part)));
  const fraction = (parts[8] ?? '').slice(0, 3).padEnd(3, '0');
  const totalMonths = years * 12 + months;
  const totalDays = weeks * 7 + days;
  const exactMs = hours * 3_600_000 + minutes * 60_000 + seconds * 1000 + Number(fraction);
  if (!(totalMonths <= MAX_MONTHS)) return false;
  if (totalDays === 0 && exactMs === 0) return true;
  const longestDays = Math.floor(totalMonths / 12) * 366 + (totalMonths % 12) * 31 + totalDays;
  return longestDays * DAY_MS + exactMs <= MAX_DAYS * DAY_MS;
}
