/**
 * The expiry-alert queue (issue 5): one delayed job per pending row of `alert_schedule`, plus the
 * reconciler's recurring job. PostgreSQL holds the schedule's truth; a job only says "look at
 * this row now", so losing one (a Redis flush) loses nothing the reconciler cannot re-create.
 */
export const ALERTS_QUEUE = 'accord-alerts';

/** Fire one alert: the processor loads the row and acts only if it is still pending at that version. */
export const ALERT_FIRE_JOB = 'fire';
/** Re-create missing jobs from PostgreSQL and fire overdue alerts (a BullMQ job scheduler). */
export const ALERT_RECONCILE_JOB = 'reconcile';
/** The id of the job scheduler that produces `reconcile` jobs. */
export const ALERT_RECONCILE_SCHEDULER = 'alerts-reconcile';

export interface AlertFireJobData {
  alertId: string;
  /** The version of the suspension's end the alert was computed for: the fence. */
  endVersion: number;
  /**
   * The alert's lead time, so that the end (`PT0S`, which fires on its own) skips the batch of
   * due warnings. Absent in jobs added before it was carried: they try the batch first.
   */
  leadTime?: string;
  /** How many times the job found the alert schedule behind its measure (see AlertsProcessor). */
  behind?: number;
}

export type AlertReconcileJobData = Record<string, never>;

export type AlertJob =
  | { name: typeof ALERT_FIRE_JOB; data: AlertFireJobData }
  | { name: typeof ALERT_RECONCILE_JOB; data: AlertReconcileJobData };

/**
 * `alert-<alertId>-<endVersion>`: deterministic, so that the relay, the reconciler and a retry
 * all add the same job. BullMQ forbids `:` in custom ids (it is its key separator), hence `-`.
 */
export function alertJobId(alertId: string, endVersion: number): string {
  return `alert-${alertId}-${endVersion}`;
}
