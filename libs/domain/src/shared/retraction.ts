import { ensure } from './domain-error';
import {
  type DecisionContext,
  type DomainCommand,
  type DomainEvent,
  newEvent,
  nowOf,
  type Sourced,
} from './event';
import { toId } from './identifier';
import { toInstant } from './instant';
import { isText, type Source, toSources } from './source';

export interface EventRetractedData extends Sourced {
  /** The event found to be wrong. It stays in the history; every view ignores it from now on. */
  eventId: string;
  reason: string;
}

export type EventRetracted = DomainEvent<'EventRetracted', EventRetractedData>;

export type RetractEvent = DomainCommand<
  'RetractEvent',
  { eventId: string; reason: string; effectiveAt?: string; sources: Source[] }
>;

/**
 * The ids of the events currently retracted. A retraction may itself be retracted, which revives
 * what it retracted; since a retraction only ever points backwards, one backward pass settles it.
 */
export function retractedEventIds(history: readonly DomainEvent[]): Set<string> {
  const retracted = new Set<string>();
  for (let index = history.length - 1; index >= 0; index -= 1) {
    const event = history[index];
    if (retracted.has(event.metadata.eventId)) continue;
    if (isRetraction(event)) retracted.add(event.data.eventId);
  }
  return retracted;
}

/** The facts that still stand: the history without retracted events and without retractions. */
export function liveEvents<E extends DomainEvent>(history: readonly E[]): E[] {
  const retracted = retractedEventIds(history);
  return history.filter((event) => !isRetraction(event) && !retracted.has(event.metadata.eventId));
}

export function isRetraction(event: DomainEvent): event is EventRetracted {
  return event.type === 'EventRetracted';
}

export function decideRetraction(
  command: RetractEvent,
  history: readonly DomainEvent[],
  context: DecisionContext,
): EventRetracted {
  const { reason } = command.data;
  const eventId = toId(command.data.eventId, 'eventId');
  ensure(
    history.some((event) => event.metadata.eventId === eventId),
    'event-not-found',
    `No event ${eventId} in this stream`,
    { eventId },
  );
  ensure(
    !retractedEventIds(history).has(eventId),
    'event-already-retracted',
    `Event ${eventId} is already retracted`,
    {
      eventId,
    },
  );
  ensure(isText(reason), 'text-required', 'A retraction needs a reason', { field: 'reason' });
  return newEvent<EventRetracted>(
    'EventRetracted',
    {
      eventId,
      reason,
      effectiveAt: toInstant(command.data.effectiveAt ?? nowOf(context), 'effectiveAt'),
      sources: toSources(command.data.sources),
    },
    context,
  );
}
