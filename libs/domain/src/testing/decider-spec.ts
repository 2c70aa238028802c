// Test-only: uses jest's `expect`, so it is never exported from the library's index.
import { DomainError, type DomainErrorCode } from '../shared/domain-error';
import type { DecisionContext, Decider, DomainEvent, EventMetadata } from '../shared/event';

/** An event as a test writes it: metadata may be left out and is filled in. */
export type GivenEvent<E extends DomainEvent> = E extends DomainEvent
  ? Omit<E, 'metadata'> & { metadata?: Partial<EventMetadata> }
  : never;

/** An expected event: metadata (generated ids, actor) is asserted separately when it matters. */
export type ExpectedEvent<E extends DomainEvent> = E extends DomainEvent
  ? Omit<E, 'metadata'>
  : never;

export const TEST_NOW = '2026-01-15T12:00:00.000Z';
export const TEST_ACTOR = 'analyst@test';

/** A clock and id source a test owns: ids are `id-1`, `id-2`, … in the order asked for. */
export function testContext(
  overrides: Partial<Omit<DecisionContext, 'newId'>> = {},
): DecisionContext {
  let next = 0;
  return {
    now: TEST_NOW,
    actor: TEST_ACTOR,
    ...overrides,
    newId: () => {
      next += 1;
      return `id-${next}`;
    },
  };
}

export function withMetadata<E extends DomainEvent>(events: readonly GivenEvent<E>[]): E[] {
  return events.map(
    (event, index) =>
      ({
        ...event,
        metadata: { eventId: `given-${index + 1}`, actor: TEST_ACTOR, ...event.metadata },
      }) as unknown as E,
  );
}

/** given(events).when(command).then(events | error code), after emmett's DeciderSpecification. */
export function deciderSpec<Command, Event extends DomainEvent, State>(
  decider: Decider<Command, Event, State>,
) {
  return {
    given: (given: readonly GivenEvent<Event>[]) => ({
      when: (command: Command, context: Partial<Omit<DecisionContext, 'newId'>> = {}) => {
        const decide = (): Event[] => {
          const state = withMetadata<Event>(given).reduce(decider.evolve, decider.initialState());
          return decider.decide(command, state, testContext(context));
        };
        return {
          then: (expected: readonly ExpectedEvent<Event>[]): Event[] => {
            const events = decide();
            // Payloads are stored as jsonb: anything that does not survive JSON would be lost.
            expect(JSON.parse(JSON.stringify(events))).toStrictEqual(events);
            expect(events.map(({ type, data }) => ({ type, data }))).toEqual(expected);
            return events;
          },
          thenThrows: (code: DomainErrorCode): DomainError => {
            let thrown: unknown;
            try {
              decide();
            } catch (error) {
              thrown = error;
            }
            expect(thrown).toBeInstanceOf(DomainError);
            expect((thrown as DomainError).code).toBe(code);
            return thrown as DomainError;
          },
        };
      },
    }),
  };
}
