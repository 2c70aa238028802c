import type { RecordedEvent } from '@app/event-store';

/**
 * What @EventsHandler(CommittedEvent) receives: an event read back from the global log, so
 * it is committed by construction. Handlers switch on `event.type`.
 */
export class CommittedEvent {
  constructor(readonly event: RecordedEvent) {}
}
