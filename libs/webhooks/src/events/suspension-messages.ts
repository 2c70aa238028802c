import { partiesCoveredOn, type Measure, type Suspension } from '@app/domain';
import type { WebhookMatch, WebhookMessage } from '../webhook-message';

/**
 * The bodies of the `suspension.*` messages, written once for both of their producers: the
 * alert schedule (libs/alerts: warnings, lapses, extensions) and the event publisher here
 * (a retracted extension), so that a receiver sees one shape whoever sent it.
 */

const API = '/api/v1';

/** An agreement as a message names it. */
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
export interface SuspensionAgreements {
  end: AgreementRef | null;
  suspension: AgreementRef | null;
}

/** The ids behind `SuspensionAgreements`, to read both for many suspensions in one query. */
export function agreementIdsOf(suspension: Suspension | undefined): {
  end: string | undefined;
  suspension: string | undefined;
} {
  return {
    end: suspension?.extensions.at(-1)?.agreement ?? suspension?.agreement,
    suspension: suspension?.agreement,
  };
}

/**
 * `data` of `suspension.expiring` and `suspension.lapsed` (issue 5, scope 5): the measure (id,
 * code, title, parties, kind, rate), the suspension (id, part, end instant, the agreement it
 * implements), the agreement behind the end (its link too), the lead time and links to the API.
 */
export function suspensionData(
  measure: Measure,
  suspensionId: string,
  endAt: Date,
  agreements: SuspensionAgreements,
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
export function suspensionMatch(measure: Measure, endAt: Date, leadTime?: string): WebhookMatch {
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

/** A change of a suspension's end, as `suspension.extended` tells it. */
export interface EndChange {
  /** The event that changed it: the extension, or a retraction that withdrew or revived one. */
  eventId: string;
  suspensionId: string;
  previousEndsAt: string | null;
  endsAt: string | null;
  extendedBy: string | null;
  recordedAt: Date;
  /**
   * The end whose parties are concerned: the one the extension moved (for the extension itself,
   * `previousEndsAt`), so that every message about one extension reaches the same subscribers.
   */
  concernedEndsAt: string | null;
}

/** `suspension.extended`; `messageKey` defaults to the event's (one message per event). */
export function extendedMessage(
  measure: Measure,
  change: EndChange,
  agreements: SuspensionAgreements,
  messageKey = `event:${change.eventId}`,
): WebhookMessage {
  // The parties are those of the scope in force when the suspension would have ended: whose
  // goods the extension keeps suspended past that end.
  const concerned = new Date(change.concernedEndsAt ?? 0);
  const base = suspensionData(measure, change.suspensionId, concerned, agreements);
  return {
    type: 'suspension.extended',
    messageKey,
    data: {
      ...base,
      suspension: { ...base.suspension, endsAt: change.endsAt },
      previousEndsAt: change.previousEndsAt,
      extendedBy: change.extendedBy,
      eventId: change.eventId,
    },
    match: suspensionMatch(measure, concerned),
    occurredAt: change.recordedAt,
  };
}
