import type { EventRetractedData, Measure, Suspension, SuspensionExtendedData } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import type { WebhookMessage } from '../webhook-message';
import { retractedFactOf } from './retracted-fact';
import { extendedMessage, type SuspensionAgreements } from './suspension-messages';

/**
 * What a retraction did to an extension of a suspension: withdrew it, or, retracting the
 * retraction that withdrew it, brought it back.
 */
export interface ExtensionRetraction {
  retraction: RecordedEvent;
  extension: RecordedEvent;
  /** The measure and the suspension as the facts stand after the retraction. */
  measure: Measure;
  suspension: Suspension;
  /** The suspension's end just before the retraction (null while its end was unknown). */
  previousEndsAt: string | null;
  effect: 'withdrawn' | 'reinstated';
}

/**
 * The extension `recorded` withdraws or brings back, or null when it is no such retraction or
 * there is no end to tell of: the suspension is gone (its scheduling retracted) or lifted. A
 * lifted suspension ends at its lifting, so its end no longer counts anywhere (the alerts, the
 * expiries, the calendar); an end announced for it would mislead, which is also why an extension
 * recorded after a lifting is not announced. A lapsed suspension is told of: its subscribers
 * heard of the extension, and learn that the end they were given is withdrawn, the end now
 * standing being already past.
 */
export function extensionRetractionOf(
  recorded: RecordedEvent,
  history: readonly RecordedEvent[],
  before: Measure | null,
  after: Measure | null,
): ExtensionRetraction | null {
  if (recorded.type !== 'EventRetracted') return null;
  const extension = retractedFactOf(recorded, history);
  if (extension?.type !== 'SuspensionExtended') return null;
  const suspensionId = (extension.payload as unknown as SuspensionExtendedData).suspensionId;
  const suspension = after?.suspensions.find((s) => s.id === suspensionId);
  if (!after || !suspension || suspension.state === 'lifted') return null;
  const previous = before?.suspensions.find((s) => s.id === suspensionId);
  return {
    retraction: recorded,
    extension,
    measure: after,
    suspension,
    previousEndsAt: previous?.endsAt ?? null,
    // The fold keeps an extension that stands among the suspension's extensions.
    effect: suspension.extensions.some((e) => e.eventId === extension.eventId)
      ? 'reinstated'
      : 'withdrawn',
  };
}

/**
 * A `suspension.extended` message for the retraction: the body of the extension's own message
 * (measure, suspension, agreements, links, `previousEndsAt`, `extendedBy`, `eventId`), with the
 * suspension's end as it now stands, the end before the retraction as `previousEndsAt`, the
 * retraction's id as `eventId`, and `retraction` saying what it withdrew or brought back. A
 * receiver that keeps each suspension's `endsAt` from the latest `suspension.extended` (by
 * `timestamp`) stays right without reading `retraction`.
 */
export function extensionRetractionMessage(
  facts: ExtensionRetraction,
  agreements: SuspensionAgreements,
): WebhookMessage {
  const { measure, suspension, retraction, extension, effect } = facts;
  const extended = extension.payload as unknown as SuspensionExtendedData;
  const retracted = retraction.payload as unknown as EventRetractedData;
  const message = extendedMessage(
    measure,
    {
      eventId: retraction.eventId,
      suspensionId: suspension.id,
      previousEndsAt: facts.previousEndsAt,
      endsAt: suspension.endsAt ?? null,
      // What moved the end this time: nothing when the extension is withdrawn, the extension
      // itself again when it is brought back.
      extendedBy: effect === 'reinstated' ? (extended.extendedBy ?? null) : null,
      recordedAt: retraction.recordedAt,
      // The subscribers the extension's own message reached.
      concernedEndsAt: extended.previousEndsAt ?? extended.endsAt ?? null,
    },
    agreements,
    // Not `event:<id>`: the same retraction may also send a `measure.status-changed`, and each
    // message needs a key (and so a webhook-id) of its own.
    `event:${retraction.eventId}:suspension.extended`,
  );
  return {
    ...message,
    data: {
      ...message.data,
      retraction: {
        eventId: retraction.eventId,
        reason: retracted.reason,
        retractedEventId: retracted.eventId,
        effect,
        extension: {
          eventId: extension.eventId,
          endsAt: extended.endsAt ?? null,
          extendedBy: extended.extendedBy ?? null,
        },
      },
    },
  };
}
