import { retractedEventIds, type DomainEvent } from '@app/domain';
import type { EventStore, RecordedEvent } from '@app/event-store';
import { toDomainEvent } from '@app/trade';

/**
 * Marks each retracted event with the retraction that struck it (the history keeps both).
 * `retractions`: the stream's `EventRetracted` events, all of them (which stand is decided by
 * all of them); by default those among `events`, when `events` is the whole stream.
 */
export function markRetractions(
  events: RecordedEvent[],
  retractions: RecordedEvent[] = events.filter((event) => event.type === 'EventRetracted'),
) {
  // Which retractions still stand (a retraction may itself be retracted) is the domain's rule.
  const standing = retractedEventIds(retractions.map((event) => toDomainEvent<DomainEvent>(event)));
  const struckBy = new Map<string, RecordedEvent>();
  for (const retraction of retractions) {
    const target = String(retraction.payload.eventId);
    if (standing.has(target)) struckBy.set(target, retraction);
  }
  return events.map((event) => {
    const by = struckBy.get(event.eventId);
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
 * The events of a stream's history in `range`, in version order, each marked if (and when) it
 * was retracted, and the version to read on after (`nextCursor`) while more follow; null when
 * the stream does not exist. Reads the page (one event more, to know whether more follow) and
 * the stream's retractions, which a page needs whole: a retraction strikes an event recorded
 * before it, so a page's events may be struck by one on a later page.
 */
export async function readHistoryPage(
  store: EventStore,
  streamId: string,
  range: HistoryRange = {},
) {
  const after = range.after ?? 0;
  const { events: page, alongWith: retractions } = await store.readStreamPart(streamId, {
    after,
    limit: range.limit === undefined ? undefined : range.limit + 1,
    alongWith: ['EventRetracted'],
  });
  // Nothing after `after`: the end of a stream, or no stream at all.
  if (
    page.length === 0 &&
    retractions.length === 0 &&
    (after === 0 || (await store.streamVersion(streamId)) === 0)
  ) {
    return null;
  }
  const items = markRetractions(page.slice(0, range.limit), retractions);
  return {
    items,
    nextCursor:
      range.limit !== undefined && page.length > range.limit ? items.at(-1)!.version : null,
  };
}
