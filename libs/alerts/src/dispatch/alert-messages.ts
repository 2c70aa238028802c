import { partiesCoveredOn, type Measure, type Suspension } from '@app/domain';
import type { WebhookMatch, WebhookMessage } from '@app/webhooks';

export interface AgreementRef {
  id: string;
  code: string | null;
  title: string | null;
}

/**
 * The agreements a suspension's messages name: `end`, the one behind the end that is expiring
 * (the latest extension's agreement when it names one, else the suspension's), and `suspension`,
 * the one the suspension implements. They differ when an extension under a later agreement set
 * the end: US-RECIPROCAL-CN's suspension implements GENEVA-2025, its 2026-11-10 end comes from
 * KL-2025.
 */
export interface AlertAgreements {
  end: AgreementRef | null;
  suspension: AgreementRef | null;
}

/** The ids behind `AlertAgreements`, to read both for many suspensions in one query. */
export function agreementIdsOf(suspension: Suspension | undefined): {
  end: string | undefined;
  suspension: string | undefined;
} {
  return {
    end: suspension?.extensions.at(-1)?.agreement ?? suspension?.agreement,
    suspension: suspension?.agreement,
  };
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
 * code, title, parties, kind, rate), the suspension (id, part, end instant, the agreement it
 * implements), the agreement behind the end (its link too), the lead time and links to the API.
 */
function suspensionData(
  measure: Measure,
  suspensionId: string,
  endAt: Date,
  agreements: AlertAgreements,
) {
  const agreement = agreements.end;
  const suspension = measure.suspensions.find((s) => s.id === suspensionId);
  return {
    measure: {
      id: measure.id,
      code: measure.code ?? null,
      title: measure.title,
      kind: measure.kind,
      imposingParty: measure.imposingParty,
      targetParties: measure.targetParties,
      parties: partiesOf(measure, endAt),
      rate: measure.rate ?? null,
      // The zone its dates are written in (the end instant itself is UTC).
      timeZone: measure.timeZone,
    },
    suspension: {
      id: suspensionId,
      part: suspension?.part ?? null,
      startsAt: suspension?.startsAt ?? null,
      endsAt: endAt.toISOString(),
      reinstatesAutomatically: suspension?.reinstatesAutomatically ?? null,
      agreement: agreements.suspension,
    },
    agreement,
    links: {
      measure: `${API}/measures/${measure.id}`,
      events: `${API}/measures/${measure.id}/events`,
      ...(agreement ? { agreement: `${API}/agreements/${agreement.id}` } : {}),
    },
  };
}

/** What subscriptions' filters see of a message about the suspension ending at `endAt`. */
function matchOf(measure: Measure, endAt: Date, leadTime?: string): WebhookMatch {
  return {
    parties: partiesOf(measure, endAt),
    measureKind: measure.kind,
    measureId: measure.id,
    ...(measure.code ? { measureCode: measure.code } : {}),
    ...(leadTime !== undefined ? { leadTime } : {}),
  };
}

/**
 * Who imposes it and whose goods the suspension's end concerns: the targets and the territories
 * the scope in force at the end includes (one taken out of the scope before then has nothing
 * expiring, as `GET /expiries` answers too).
 */
function partiesOf(measure: Measure, endAt: Date): string[] {
  return [...new Set([measure.imposingParty, ...partiesCoveredOn(measure, endAt)])];
}

/** One message per (alert, subscription): the alert id makes the stable `webhook-id`. */
export function expiringMessage(
  measure: Measure,
  alert: AlertFacts,
  agreements: AlertAgreements,
): WebhookMessage {
  return {
    type: 'suspension.expiring',
    messageKey: `alert:${alert.id}`,
    data: {
      ...suspensionData(measure, alert.suspensionId, alert.endAt, agreements),
      leadTime: alert.leadTime,
      alert: { id: alert.id, fireAt: alert.fireAt.toISOString(), endVersion: alert.endVersion },
    },
    match: matchOf(measure, alert.endAt, alert.leadTime),
    occurredAt: alert.fireAt,
    // A warning that arrives after the expiry has lost its point: retries finish before it.
    deadline: alert.endAt,
  };
}

export function lapsedMessage(
  measure: Measure,
  alert: AlertFacts,
  agreements: AlertAgreements,
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
    match: matchOf(measure, alert.endAt),
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
  agreements: AlertAgreements,
): WebhookMessage {
  // The parties are those of the scope in force when the suspension would have ended: whose
  // goods the extension keeps suspended past that end.
  const concerned = new Date(extension.previousEndsAt ?? extension.endsAt ?? 0);
  const base = suspensionData(measure, extension.suspensionId, concerned, agreements);
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
    match: matchOf(measure, concerned),
    occurredAt: extension.recordedAt,
  };
}
