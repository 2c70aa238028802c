import { type Instant, isAtOrBefore, toMillis } from './instant';

/** A value and the instant from which it applies (absent: from the beginning). */
export interface Change<T> {
  from?: Instant;
  value: T;
}

const startOf = (change: Change<unknown>): number =>
  change.from === undefined ? Number.NEGATIVE_INFINITY : toMillis(change.from);

/**
 * Keeps changes in order of `from`; a change recorded later wins a tie, so amendments may be
 * recorded in any order.
 */
export function insertChange<T>(changes: readonly Change<T>[], change: Change<T>): Change<T>[] {
  const index = changes.findIndex((existing) => startOf(existing) > startOf(change));
  return index === -1
    ? [...changes, change]
    : [...changes.slice(0, index), change, ...changes.slice(index)];
}

export function valueAt<T>(changes: readonly Change<T>[], asOf: Instant): T | undefined {
  return changes
    .filter((change) => change.from === undefined || isAtOrBefore(change.from, asOf))
    .at(-1)?.value;
}

export function latestValue<T>(changes: readonly Change<T>[]): T | undefined {
  return changes.at(-1)?.value;
}
