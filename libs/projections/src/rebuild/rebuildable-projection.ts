import type { SubscriptionHandler } from '@app/event-store';

/**
 * A projection that `projections:rebuild` can rebuild from position zero beside the live one.
 *
 * `tables` names every table its `handle` reads or writes, unqualified, as its SQL names them.
 * A rebuild creates an empty copy of each in a schema of its own and runs `handle` with only
 * that schema on the search path: the projection's SQL needs no change, and a table it touches
 * but does not declare fails the rebuild instead of being written live.
 */
export interface RebuildableProjection extends SubscriptionHandler {
  readonly tables: readonly string[];
  /**
   * True when each row depends only on the events of one stream, taken in version order, never
   * on how the events of different streams interleave. A rebuild then feeds the history stream
   * by stream and writes each row once, instead of once per batch the stream spans: with
   * measures that change over years, that is the difference between writing each row once and
   * writing it dozens of times.
   */
  readonly perStream?: boolean;
}

export function isRebuildable(value: unknown): value is RebuildableProjection {
  const candidate = value as Partial<RebuildableProjection> | null | undefined;
  return (
    typeof candidate?.name === 'string' &&
    typeof candidate.handle === 'function' &&
    Array.isArray(candidate.tables) &&
    candidate.tables.length > 0
  );
}
