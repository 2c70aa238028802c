import { ensure } from '../shared/domain-error';

/** What each agreement reaffirms, by id: as much of the graph as a question about it needs. */
export type ReaffirmationGraph = Readonly<Record<string, readonly string[]>>;

/**
 * The chain of reaffirmations from `from` to `to`, both included (`[from]` when they are the
 * same), or undefined when there is none. Breadth first over each agreement once, so that a
 * cycle already on record (one recorded before cycles were refused, or revived by retracting a
 * retraction) cannot make it loop; the chain is a shortest one.
 */
export function reaffirmationPath(
  graph: ReaffirmationGraph,
  from: string,
  to: string,
): string[] | undefined {
  const cameFrom = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (next === to) {
      const path: string[] = [];
      for (let at: string | null = next; at !== null; at = cameFrom.get(at) ?? null) {
        path.unshift(at);
      }
      return path;
    }
    for (const reaffirmed of graph[next] ?? []) {
      if (cameFrom.has(reaffirmed)) continue;
      cameFrom.set(reaffirmed, next);
      queue.push(reaffirmed);
    }
  }
  return undefined;
}

/**
 * Reaffirmation runs one way: a later agreement confirms an earlier one (Kuala Lumpur reaffirms
 * Madrid). An agreement that reaffirms, directly or through others, one that already reaffirms
 * it would make each the other's predecessor; anything that follows the chain ("which earlier
 * commitments does this reaffirm?") would have no first agreement to stop at.
 */
export function ensureNoReaffirmationCycle(
  agreementId: string,
  reaffirmedId: string,
  graph: ReaffirmationGraph,
): void {
  const back = reaffirmationPath(graph, reaffirmedId, agreementId);
  ensure(
    back === undefined,
    'agreement-reaffirmation-cycle',
    `Agreement ${agreementId} cannot reaffirm ${reaffirmedId}, which already reaffirms it (${back?.join(' → ')})`,
    { field: 'reaffirms', reaffirms: reaffirmedId, cycle: back && [agreementId, ...back] },
  );
}
