import { type Instant, toInstant } from './instant';
import type { Source } from './source';
import { pickDefined } from './source';

/** Stored beside the payload; `eventId` is what a retraction points at. */
export interface EventMetadata {
  eventId: string;
  /** The acting user or API key name. */
  actor: string;
}

/** Every fact says when it takes legal effect and on whose authority. */
export interface Sourced {
  effectiveAt: Instant;
  sources: Source[];
}

/** An event as emmett shapes it: a past-tense `type`, plain JSON `data`, and metadata. */
export interface DomainEvent<Type extends string = string, Data extends Sourced = Sourced> {
  type: Type;
  data: Data;
  metadata: EventMetadata;
}

export interface DomainCommand<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** What a decision may know about the world; decisions never read a clock or a random source. */
export interface DecisionContext {
  now: Date | Instant;
  newId: () => string;
  actor: string;
}

export interface Decider<Command, Event, State> {
  decide: (command: Command, state: State, context: DecisionContext) => Event[];
  evolve: (state: State, event: Event) => State;
  initialState: () => State;
}

export function nowOf(context: DecisionContext): Instant {
  return toInstant(context.now, 'now');
}

export function newEvent<E extends DomainEvent>(
  type: E['type'],
  data: E['data'],
  context: DecisionContext,
): E {
  return {
    type,
    data: pickDefined(data),
    metadata: { eventId: context.newId(), actor: context.actor },
  } as E;
}

export function foldEvents<Event, State>(
  decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  events: readonly Event[],
): State {
  return events.reduce(decider.evolve, decider.initialState());
}

/**
 * Decides several commands in a row, each against the state the previous ones produced, so a
 * composite command (or an import) is all-or-nothing and obeys every single invariant.
 */
export function decideAll<Command, Event, State>(
  decider: Decider<Command, Event, State>,
  commands: readonly Command[],
  state: State,
  context: DecisionContext,
): { events: Event[]; state: State } {
  return commands.reduce(
    (acc, command) => {
      const events = decider.decide(command, acc.state, context);
      return {
        events: [...acc.events, ...events],
        state: events.reduce(decider.evolve, acc.state),
      };
    },
    { events: [] as Event[], state },
  );
}
