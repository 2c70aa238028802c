import { retractedEventIds, type DomainEvent } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { toDomainEvent } from '@app/trade';

/** Marks each retracted event with the retraction that struck it (the history keeps both). */
export function markRetractions(events: RecordedEvent[]) {
  // Which retractions still stand (a retraction may itself be retracted) is the domain's rule.
  const standing = retractedEventIds(events.map((event) => toDomainEvent<DomainEvent>(event)));
  const retractions = new Map<string, RecordedEvent>();
  for (const event of events) {
    const target = String(event.payload.eventId);
    if (event.type === 'EventRetracted' && standing.has(target)) retractions.set(target, event);
  }
  return events.map((event) => {
    const by = retractions.get(event.eventId);
    return {
      eventId: event.eventId,
      position: event.position,
      version: event.version,
      type: event.type,
      schemaVersion: event.schemaVersion,
      effectiveAt: (event.payload.effectiveAt as string | undefined) ?? null,
      recordedAt: event.recordedAt.toISOString(),
      actor: event.metadata.actor ?? null,
      sources: (event.payload.sources as unknown[] | undefined) ?? [],
      data: event.payload,
      retracted: by
        ? {
            by: by.eventId,
            recordedAt: by.recordedAt.toISOString(),
            reason: (by.payload.reason as string | undefined) ?? null,
          }
        : null,
    };
  });
}
