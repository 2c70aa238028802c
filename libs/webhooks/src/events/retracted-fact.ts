import type { RecordedEvent } from '@app/event-store';

/**
 * The fact a retraction is about: the event it withdraws, or, for a retraction of a retraction
 * (which brings back what that one withdrew), the fact at the end of the chain. Undefined when
 * the chain leaves `history` (it never does on a well-formed stream: a retraction points back).
 */
export function retractedFactOf(
  retraction: RecordedEvent,
  history: readonly RecordedEvent[],
): RecordedEvent | undefined {
  let target = history.find((event) => event.eventId === retraction.payload.eventId);
  for (let depth = 0; target?.type === 'EventRetracted' && depth < history.length; depth++) {
    const next = target.payload.eventId;
    target = history.find((event) => event.eventId === next);
  }
  return target;
}
