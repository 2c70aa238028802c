import type { Decider, DomainEvent } from '@app/domain';
import type { EventStore, ReadStreamOptions, RecordedEvent } from '@app/event-store';

/**
 * Folds a stream into its aggregate's state, as its decider sees it. With `recordedUntil`, only
 * the events recorded by then count: the aggregate as the tracker knew it at that time.
 */
export async function loadAggregate<Event extends DomainEvent, State>(
  store: EventStore,
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  streamId: string,
  options: ReadStreamOptions = {},
): Promise<{ state: State; version: number }> {
  const stored = await store.readStream(streamId, options);
  const state = stored
    .map((event) => toDomainEvent<Event>(event))
    .reduce(decider.evolve, decider.initialState());
  return { state, version: stored.length ? stored[stored.length - 1].version : 0 };
}

/** Stored events become the decider's events again: `data` is the payload. */
export function toDomainEvent<Event extends DomainEvent>(stored: RecordedEvent): Event {
  return {
    type: stored.type,
    data: stored.payload,
    metadata: { eventId: stored.eventId, actor: String(stored.metadata.actor ?? 'unknown') },
  } as unknown as Event;
}
