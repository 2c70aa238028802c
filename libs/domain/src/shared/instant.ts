import { DateTime, Duration, IANAZone } from 'luxon';
import { ensure } from './domain-error';

/** An ISO 8601 instant with an offset, normalised to UTC: `2026-11-10T05:01:00.000Z`. */
export type Instant = string;
/** An ISO 8601 duration such as `P1Y`, `P90D` or `PT12H`. */
export type IsoDuration = string;
/** An IANA time zone name such as `America/New_York`. */
export type TimeZone = string;

export const DEFAULT_TIME_ZONE: TimeZone = 'UTC';

const OFFSET = /(Z|[+-]\d{2}(:?\d{2})?)$/i;
// Integer components only (seconds may be fractional): fractional months or years have no
// single meaning in a calendar, and signed components would let an "end" precede its start.
// Its groups: years, months, weeks, days, hours, minutes, whole seconds, decimals of a second.
export const ISO_DURATION =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:\.(\d+))?S)?)?$/;

// The shape `toInstant` produces. Stored instants all have it, and for it `Date.parse` is exact
// and an order of magnitude cheaper than luxon: status reads compare thousands of instants.
const CANONICAL_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Canonical and a real date: `Date.parse` rolls 30 February over, so the round trip must match. */
function isCanonicalUtc(value: unknown): value is Instant {
  if (typeof value !== 'string' || !CANONICAL_UTC.test(value)) return false;
  const millis = Date.parse(value);
  return !Number.isNaN(millis) && new Date(millis).toISOString() === value;
}

export function isInstant(value: unknown): value is Instant {
  if (isCanonicalUtc(value)) return true;
  return (
    typeof value === 'string' &&
    value.includes('T') &&
    OFFSET.test(value) &&
    DateTime.fromISO(value, { setZone: true }).isValid
  );
}

/**
 * Whether a UTC instant lies in years 0001–9999: what the store's timestamps (and ISO 8601
 * without expanded years) can hold. An event must never carry one the read models cannot
 * store: the log is immutable, and every projection would fail on it for good.
 */
function isStorable(utc: string): boolean {
  return /^\d{4}-/.test(utc) && !utc.startsWith('0000-');
}

/** Whether a moment lies in years 0001–9999 (UTC), the range instants are kept in. */
export function isInStorableRange(date: Date): boolean {
  return !Number.isNaN(date.getTime()) && isStorable(date.toISOString());
}

const STORABLE_RANGE = 'between 0001-01-01 and 9999-12-31 (UTC)';

/** Validates an instant (string with an offset, or a Date) and normalises it to UTC. */
export function toInstant(value: unknown, field = 'instant'): Instant {
  let utc: string | null;
  if (value instanceof Date && !Number.isNaN(value.getTime())) utc = value.toISOString();
  else if (isCanonicalUtc(value)) utc = value;
  else {
    ensure(
      isInstant(value),
      'invalid-instant',
      `${field} must be an ISO 8601 instant with an offset, got ${JSON.stringify(value)}`,
      { field, value },
    );
    utc = DateTime.fromISO(value, { setZone: true }).toUTC().toISO();
  }
  ensure(
    utc !== null && isStorable(utc),
    'invalid-instant',
    `${field} must be ${STORABLE_RANGE}, got ${JSON.stringify(value)}`,
    { field, value: value instanceof Date ? utc : value },
  );
  return utc;
}

export function toMillis(instant: Instant | Date): number {
  if (instant instanceof Date) return instant.getTime();
  if (CANONICAL_UTC.test(instant)) return Date.parse(instant);
  return DateTime.fromISO(instant).toMillis();
}

export function isBefore(a: Instant, b: Instant): boolean {
  return toMillis(a) < toMillis(b);
}

export function isAtOrBefore(a: Instant, b: Instant): boolean {
  return toMillis(a) <= toMillis(b);
}

export function isTimeZone(value: unknown): value is TimeZone {
  return typeof value === 'string' && IANAZone.isValidZone(value);
}

// Building an Intl.DateTimeFormat is costly and zones are few: remember each canonical spelling.
const canonicalZones = new Map<string, TimeZone>();

/**
 * Validates an IANA zone and returns it as given, in its proper case when ICU knows that same name
 * (`america/new_york` → `America/New_York`). ICU's own canonical id is not used: it is the oldest
 * name of a zone (`Asia/Kolkata` → `Asia/Calcutta`, `Europe/Kyiv` → `Europe/Kiev`), not the one
 * the user chose.
 */
export function toTimeZone(value: unknown, field = 'timeZone'): TimeZone {
  const known = typeof value === 'string' ? canonicalZones.get(value) : undefined;
  if (known) return known;
  ensure(
    isTimeZone(value),
    'invalid-time-zone',
    `${field} must be an IANA time zone name, got ${JSON.stringify(value)}`,
    { field, value },
  );
  const icuName = new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
  const spelled = icuName.toLowerCase() === value.toLowerCase() ? icuName : value;
  canonicalZones.set(value, spelled);
  return spelled;
}

export function isIsoDuration(value: unknown, options: { allowZero?: boolean } = {}): boolean {
  if (typeof value !== 'string' || !ISO_DURATION.test(value)) return false;
  const duration = Duration.fromISO(value);
  return duration.isValid && (options.allowZero === true || duration.toMillis() > 0);
}

export function toIsoDuration(
  value: unknown,
  field = 'duration',
  options: { allowZero?: boolean } = {},
): IsoDuration {
  ensure(
    isIsoDuration(value, options),
    'invalid-duration',
    `${field} must be a positive ISO 8601 duration such as P1Y or P90D, got ${JSON.stringify(value)}`,
    { field, value },
  );
  return value as IsoDuration;
}

/**
 * Adds a duration in a legal time zone, so that calendar units follow that zone's clock:
 * one year after 2025-11-10 00:01 America/New_York is 2026-11-10 00:01 America/New_York,
 * whatever daylight saving time did in between.
 */
export function plusDuration(instant: Instant, duration: IsoDuration, zone: TimeZone): Instant {
  return shift(instant, duration, zone, 1);
}

/** The instant a duration before another, in a legal time zone (e.g. alert lead times). */
export function minusDuration(instant: Instant, duration: IsoDuration, zone: TimeZone): Instant {
  return shift(instant, duration, zone, -1);
}

function shift(instant: Instant, duration: IsoDuration, zone: TimeZone, sign: 1 | -1): Instant {
  const start = DateTime.fromISO(toInstant(instant), { zone: toTimeZone(zone) });
  const delta = Duration.fromISO(toIsoDuration(duration, 'duration', { allowZero: true }));
  const end = (sign === 1 ? start.plus(delta) : start.minus(delta)).toUTC().toISO();
  ensure(
    end !== null && isStorable(end),
    'invalid-duration',
    `${duration} ${sign === 1 ? 'after' : 'before'} ${instant} is not ${STORABLE_RANGE}`,
    { field: 'duration', value: duration },
  );
  return end;
}

/** Adds two ISO durations component-wise (`P1Y` + `P90D` = `P1Y90D`). */
export function addDurations(a: IsoDuration, b: IsoDuration): IsoDuration {
  return Duration.fromISO(a).plus(Duration.fromISO(b)).toISO() as IsoDuration;
}
