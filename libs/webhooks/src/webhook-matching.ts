import { Duration } from 'luxon';
import type { WebhookEventType, WebhookMatch } from './webhook-message';

/** A subscription's filters: each one given narrows; an empty or missing one matches all. */
export interface WebhookFilters {
  parties?: string[];
  measureKinds?: string[];
  /** Measure ids or codes. */
  measures?: string[];
}

export interface MatchableSubscription {
  eventTypes: string[];
  filters: WebhookFilters;
  /** ISO 8601 durations; empty means the configured defaults (`ALERT_LEAD_TIMES`). */
  leadTimes: string[];
}

/** `*` matches any event type; `suspension.*` any type under `suspension.`; else exact. */
export function eventTypeMatches(pattern: string, type: WebhookEventType): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

// The rule lives in the domain, which the configuration (ALERT_LEAD_TIMES) shares.
export { isSchedulableLeadTime, MAX_LEAD_TIME } from '@app/domain';

/** Normalized lead times by what was written: a fan-out compares the same few many times. */
const normalizedLeadTimes = new Map<string, string>();
const NORMALIZED_CACHE_SIZE = 1000;

/**
 * Lead times compare by meaning: two that always give the same fire time are the same lead time,
 * one canonical spelling. A fire time is the end minus the calendar part (years and months
 * together, then days, in the measure's zone) minus an exact part (hours, minutes, seconds), so:
 * years and months fold into one count of months (`P12M` is `P1Y`, `P18M` is `P1Y6M`); weeks into
 * days (`P1W` is `P7D`); hours, minutes and seconds into one exact length written as hours,
 * minutes and seconds (`PT60S` is `PT1M`, `PT90M` is `PT1H30M`, to the millisecond), hours never
 * folding into days; every zero is `PT0S`. Calendar units stay apart from exact ones: `P1D` and
 * `PT24H` differ across a daylight-saving change, `P1M` and `P30D` in most months. The alert
 * schedule plans (and names) its alerts by this form, and matching compares by it, so two
 * spellings never make two alerts at one fire time.
 */
export function normalizeLeadTime(leadTime: string): string {
  const cached = normalizedLeadTimes.get(leadTime);
  if (cached !== undefined) return cached;
  const normalized = canonicalLeadTime(leadTime);
  if (normalizedLeadTimes.size >= NORMALIZED_CACHE_SIZE) normalizedLeadTimes.clear();
  normalizedLeadTimes.set(leadTime, normalized);
  return normalized;
}

function canonicalLeadTime(leadTime: string): string {
  const duration = Duration.fromISO(leadTime);
  if (!duration.isValid) return leadTime;
  if (duration.toMillis() === 0) return 'PT0S';
  const { years, quarters, months, weeks, days, hours, minutes, seconds, milliseconds } =
    duration.toObject();
  const totalMonths = (years ?? 0) * 12 + (quarters ?? 0) * 3 + (months ?? 0);
  const totalDays = (weeks ?? 0) * 7 + (days ?? 0);
  const exactMs = Math.round(
    (hours ?? 0) * 3_600_000 +
      (minutes ?? 0) * 60_000 +
      (seconds ?? 0) * 1000 +
      (milliseconds ?? 0),
  );
  // Fractional or negative calendar units are not lead times the API accepts (the domain's form
  // has whole ones only); they keep luxon's spelling rather than a guess at their meaning.
  if (
    ![totalMonths, totalDays].every((value) => Number.isInteger(value) && value >= 0) ||
    exactMs < 0
  )
    return duration.normalize().toISO() ?? leadTime;
  const date =
    (totalMonths >= 12 ? `${Math.floor(totalMonths / 12)}Y` : '') +
    (totalMonths % 12 ? `${totalMonths % 12}M` : '') +
    (totalDays ? `${totalDays}D` : '');
  const h = Math.floor(exactMs / 3_600_000);
  const m = Math.floor((exactMs % 3_600_000) / 60_000);
  const secondsMs = exactMs % 60_000;
  const time = (h ? `${h}H` : '') + (m ? `${m}M` : '') + (secondsMs ? `${secondsMs / 1000}S` : '');
  // Below a millisecond: the end itself.
  if (!date && !time) return 'PT0S';
  return `P${date}${time ? `T${time}` : ''}`;
}

/** The lead times of a list, each once, by meaning, in their canonical form, first one first. */
export function distinctLeadTimesOf(leadTimes: readonly string[]): string[] {
  return [...new Set(leadTimes.map(normalizeLeadTime))];
}

/**
 * Whether a subscription wants a message. A filter on something the message does not carry
 * (a measure-kind filter and an `agreement.recorded` message) does not match: the subscriber
 * narrowed to measures of that kind.
 */
export function subscriptionMatches(
  subscription: MatchableSubscription,
  type: WebhookEventType,
  match: WebhookMatch,
  defaultLeadTimes: string[],
): boolean {
  if (!subscription.eventTypes.some((pattern) => eventTypeMatches(pattern, type))) return false;
  const { parties, measureKinds, measures } = subscription.filters;
  if (parties?.length) {
    const wanted = new Set(parties.map((party) => party.toUpperCase()));
    if (!match.parties.some((party) => wanted.has(party.toUpperCase()))) return false;
  }
  if (measureKinds?.length) {
    // Any case: rows written before kinds were checked and lower-cased may hold `Tariff`.
    const kind = match.measureKind?.toLowerCase();
    if (!kind || !measureKinds.some((wanted) => wanted.toLowerCase() === kind)) return false;
  }
  if (measures?.length) {
    const wanted = new Set(measures.map((measure) => measure.toLowerCase()));
    const ids = [match.measureId, match.measureCode].filter((value) => value !== undefined);
    if (!ids.some((value) => wanted.has(value.toLowerCase()))) return false;
  }
  if (match.leadTime !== undefined) {
    const leadTimes = subscription.leadTimes.length ? subscription.leadTimes : defaultLeadTimes;
    const wanted = normalizeLeadTime(match.leadTime);
    if (!leadTimes.some((leadTime) => normalizeLeadTime(leadTime) === wanted)) return false;
  }
  return true;
}
