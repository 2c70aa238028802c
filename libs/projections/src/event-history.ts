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

/** Which part of a stream's history to read: the events after version `after`, `limit` at most. */
export interface HistoryRange {
  after?: number;
  /** Absent: every event after `after`. */
  limit?: number;
}

/**
 * The events of a stream's history in `range`, in version order, and the version to read on
 * after (`nextCursor`) while more follow. Marked on the whole stream: a retraction strikes an
 * event recorded before it, so a page's events may be struck by one on a later page.
 *
 * `events` is the whole stream, read again for every page, so following a stream page by page
 * costs O(n²) in its length. That is acceptable while streams are short (tens of events). Once
 * one grows long, read only the page (`version > after`, `limit + 1` rows) plus the stream's
 * `EventRetracted` events, which are all that decide which retractions stand; the event store
 * has no such reads yet.
 */
export function historyPage(events: RecordedEvent[], range: HistoryRange = {}) {
  const after = range.after ?? 0;
  const following = markRetractions(events).filter((event) => event.version > after);
  const items = range.limit === undefined ? following : following.slice(0, range.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: last && items.length < following.length ? last.version : null,
  };
}
