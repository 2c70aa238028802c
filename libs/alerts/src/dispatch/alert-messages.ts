import type { Measure } from '@app/domain';
import type { WebhookMatch, WebhookMessage } from '@app/webhooks';

export interface AgreementRef {
  id: string;
  code: string | null;
  title: string | null;
}

/** The alert row fields a message needs. */
export interface AlertFacts {
  id: string;
  suspensionId: string;
  leadTime: string;
  fireAt: Date;
  endAt: Date;
  endVersion: number;
}

const API = '/api/v1';

/**
 * `data` of `suspension.expiring` and `suspension.lapsed` (issue 5, scope 5): the measure (id,
 * code, title, parties, kind, rate), the suspension (id, part, end instant), the agreement, the
 * lead time and links to the API.
 */
function suspensionData(
  measure: Measure,
  suspensionId: string,
  endAt: Date,
  agreement: AgreementRef | null,
) {
  const suspension = measure.suspensions.find((s) => s.id === suspensionId);
  return {
    measure: {
      id: measure.id,
      code: measure.code ?? null,
      title: measure.title,
      kind: measure.kind,
      imposingParty: measure.imposingParty,
      targetParties: measure.targetParties,
      parties: partiesOf(measure),
      rate: measure.rate ?? null,
    },
    suspension: {
      id: suspensionId,
      part: suspension?.part ?? null,
      startsAt: suspension?.startsAt ?? null,
      endsAt: endAt.toISOString(),
      reinstatesAutomatically: suspension?.reinstatesAutomatically ?? null,
    },
    agreement,
    links: {
      measure: `${API}/measures/${measure.id}`,
      events: `${API}/measures/${measure.id}/events`,
      ...(agreement ? { agreement: `${API}/agreements/${agreement.id}` } : {}),
    },
  };
}

export function matchOf(measure: Measure, leadTime?: string): WebhookMatch {
  return {
    parties: partiesOf(measure),
    measureKind: measure.kind,
    measureId: measure.id,
    ...(measure.code ? { measureCode: measure.code } : {}),
    ...(leadTime !== undefined ? { leadTime } : {}),
  };
}

function partiesOf(measure: Measure): string[] {
  return [...new Set([measure.imposingParty, ...measure.targetParties])];
}

/** One message per (alert, subscription): the alert id makes the stable `webhook-id`. */
export function expiringMessage(
  measure: Measure,
  alert: AlertFacts,
  agreement: AgreementRef | null,
): WebhookMessage {
  return {
    type: 'suspension.expiring',
    messageKey: `alert:${alert.id}`,
    data: {
      ...suspensionData(measure, alert.suspensionId, alert.endAt, agreement),
      leadTime: alert.leadTime,
      alert: { id: alert.id, fireAt: alert.fireAt.toISOString(), endVersion: alert.endVersion },
    },
    match: matchOf(measure, alert.leadTime),
    occurredAt: alert.fireAt,
    // A warning that arrives after the expiry has lost its point: retries finish before it.
    deadline: alert.endAt,
  };
}

export function lapsedMessage(
  measure: Measure,
  alert: AlertFacts,
  agreement: AgreementRef | null,
): WebhookMessage {
  return {
    type: 'suspension.lapsed',
    messageKey: `alert:${alert.id}:lapsed`,
    data: {
      ...suspensionData(measure, alert.suspensionId, alert.endAt, agreement),
      leadTime: alert.leadTime,
      lapsedAt: alert.endAt.toISOString(),
      alert: { id: alert.id, fireAt: alert.fireAt.toISOString(), endVersion: alert.endVersion },
    },
    match: matchOf(measure),
    occurredAt: alert.endAt,
  };
}

export function extendedMessage(
  measure: Measure,
  extension: {
    eventId: string;
    suspensionId: string;
    previousEndsAt: string | null;
    endsAt: string | null;
    extendedBy: string | null;
    recordedAt: Date;
  },
  agreement: AgreementRef | null,
): WebhookMessage {
  const base = suspensionData(
    measure,
    extension.suspensionId,
    new Date(extension.endsAt ?? 0),
    agreement,
  );
  return {
    type: 'suspension.extended',
    messageKey: `event:${extension.eventId}`,
    data: {
      ...base,
      suspension: { ...base.suspension, endsAt: extension.endsAt },
      previousEndsAt: extension.previousEndsAt,
      extendedBy: extension.extendedBy,
      eventId: extension.eventId,
    },
    match: matchOf(measure),
    occurredAt: extension.recordedAt,
  };
}
