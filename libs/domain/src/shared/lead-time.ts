import { Duration } from 'luxon';
import { isIsoDuration } from './instant';

/** The longest lead time an alert may have: ten years before a suspension's end. */
export const MAX_LEAD_TIME = 'P10Y';
const MAX_LEAD_TIME_MS = Duration.fromISO(MAX_LEAD_TIME).toMillis();

/**
 * A lead time alerts can be scheduled at: an ISO 8601 duration the domain accepts (`PT0S` for
 * the end itself) and no longer than `MAX_LEAD_TIME`, so that its fire time is an instant
 * (subtracting a million years from an end is not). The one rule for `ALERT_LEAD_TIMES`, the
 * subscriptions API and the schedule (which ignores rows written before it).
 */
export function isSchedulableLeadTime(leadTime: string): boolean {
  return (
    isIsoDuration(leadTime, { allowZero: true }) &&
    Duration.fromISO(leadTime).toMillis() <= MAX_LEAD_TIME_MS
  );
}
