import type { Measure } from '@app/domain';
import {
  suspensionData,
  suspensionMatch,
  type SuspensionAgreements,
  type WebhookMessage,
} from '@app/webhooks';

/** The alert row fields a message needs. */
export interface AlertFacts {
  id: string;
  suspensionId: string;
  leadTime: string;
  fireAt: Date;
  endAt: Date;
  endVersion: number;
}

/** One message per (alert, subscription): the alert id makes the stable `webhook-id`. */
export function expiringMessage(
  measure: Measure,
  alert: AlertFacts,
  agreements: SuspensionAgreements,
): WebhookMessage {
  return {
    type: 'suspension.expiring',
    messageKey: `alert:${alert.id}`,
    data: {
      ...suspensionData(measure, alert.suspensionId, alert.endAt, agreements),
      leadTime: alert.leadTime,
      alert: { id: alert.id, fireAt: alert.fireAt.toISOString(), endVersion: alert.endVersion },
    },
    match: suspensionMatch(measure, alert.endAt, alert.leadTime),
    occurredAt: alert.fireAt,
    // A warning that arrives after the expiry has lost its point: retries finish before it.
    deadline: alert.endAt,
  };
}

export function lapsedMessage(
  measure: Measure,
  alert: AlertFacts,
  agreements: SuspensionAgreements,
): WebhookMessage {
  return {
    type: 'suspension.lapsed',
    messageKey: `alert:${alert.id}:lapsed`,
    data: {
      ...suspensionData(measure, alert.suspensionId, alert.endAt, agreements),
      leadTime: alert.leadTime,
      lapsedAt: alert.endAt.toISOString(),
      alert: { id: alert.id, fireAt: alert.fireAt.toISOString(), endVersion: alert.endVersion },
    },
    match: suspensionMatch(measure, alert.endAt),
    occurredAt: alert.endAt,
  };
}
