import { distinctLeadTimesOf, eventTypeMatches, isSchedulableLeadTime } from '@app/webhooks';
import { Duration } from 'luxon';
import type { EntityManager } from 'typeorm';
import { AT_END } from './alert-plan';

/**
 * The lead times alerts are scheduled at: `ALERT_LEAD_TIMES`, every lead time a subscription to
 * `suspension.expiring` asks for, and the end itself (`PT0S`). Compared by meaning (`P0D` is
 * `PT0S`), longest first.
 *
 * Disabled subscriptions count too (by hand or after repeated failures): their warnings still
 * fire, the dispatcher records their deliveries as not sent, and re-enabling the subscription
 * replays them. Left out, a lead time only they ask for would be missing from the ends recorded
 * meanwhile and `skipped` once they are enabled again, past its time. A deleted subscription's
 * lead times go (for ends recorded later; the pending alerts of earlier ones fire to nobody).
 */
export async function alertLeadTimes(
  manager: EntityManager,
  configured: readonly string[],
): Promise<string[]> {
  const rows: { event_types: string[]; lead_times: string[] }[] = await manager.query(
    `SELECT event_types, lead_times FROM webhook_subscriptions
      WHERE cardinality(lead_times) > 0`,
  );
  const asked = rows
    .filter((row) => row.event_types.some((p) => eventTypeMatches(p, 'suspension.expiring')))
    .flatMap((row) => row.lead_times);
  return distinctLeadTimes([...configured, ...asked, AT_END]);
}

/** The schedulable ones of `leadTimes`, each once by meaning, the longest first. */
export function distinctLeadTimes(leadTimes: readonly string[]): string[] {
  return distinctLeadTimesOf(leadTimes.filter(isSchedulableLeadTime)).sort(
    (a, b) => Duration.fromISO(b).toMillis() - Duration.fromISO(a).toMillis() || a.localeCompare(b),
  );
}
