import { isIsoDuration } from '@app/domain';
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

/** The longest lead time a subscription may ask for: ten years before a suspension's end. */
export const MAX_LEAD_TIME = 'P10Y';
const MAX_LEAD_TIME_MS = Duration.fromISO(MAX_LEAD_TIME).toMillis();

/**
 * A lead time alerts can be scheduled at: an ISO 8601 duration the domain accepts (`PT0S` for
 * the end itself) and no longer than `MAX_LEAD_TIME`, so that its fire time is an instant
 * (subtracting a million years from an end is not). The subscriptions API refuses others, and
 * the schedule ignores them (rows written before this rule).
 */
export function isSchedulableLeadTime(leadTime: string): boolean {
  return (
    isIsoDuration(leadTime, { allowZero: true }) &&
    Duration.fromISO(leadTime).toMillis() <= MAX_LEAD_TIME_MS
  );
}

/** Normalized lead times by what was written: a fan-out compares the same few many times. */
const normalizedLeadTimes = new Map<string, string>();
const NORMALIZED_CACHE_SIZE = 1000;

/** Lead times compare by meaning: `P0D` and `PT0S` are the same lead time, `P1D` and `PT24H` not. */
export function normalizeLeadTime(leadTime: string): string {
  const cached = normalizedLeadTimes.get(leadTime);
  if (cached !== undefined) return cached;
  const duration = Duration.fromISO(leadTime);
  const normalized = !duration.isValid
    ? leadTime
    : duration.toMillis() === 0
      ? 'PT0S'
      : (duration.normalize().toISO() ?? leadTime);
  if (normalizedLeadTimes.size >= NORMALIZED_CACHE_SIZE) normalizedLeadTimes.clear();
  normalizedLeadTimes.set(leadTime, normalized);
  return normalized;
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
    if (!match.measureKind || !measureKinds.includes(match.measureKind)) return false;
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
