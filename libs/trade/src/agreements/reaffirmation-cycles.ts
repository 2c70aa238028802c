import {
  ensureNoReaffirmationCycle,
  evolveAgreement,
  initialAgreementState,
  type AgreementEvent,
  type AgreementState,
  type ReaffirmationGraph,
} from '@app/domain';
import type { SqlClient } from '@app/event-store';
import { agreementStreamId } from '../trade.streams';

/**
 * Follows reaffirmations from `from`, reading each agreement once: a cycle already on record
 * (from before cycles were refused) cannot make it loop.
 */
export async function gatherReaffirmations(
  from: string,
  reaffirmsOf: (agreementId: string) => Promise<readonly string[]>,
): Promise<ReaffirmationGraph> {
  const graph: Record<string, readonly string[]> = {};
  const queue = [from];
  for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
    if (id in graph) continue;
    graph[id] = await reaffirmsOf(id);
    queue.push(...graph[id].filter((next) => !(next in graph)));
  }
  return graph;
}

/** The agreements an append makes `before`'s agreement reaffirm that it did not already. */
export function addedReaffirmations(before: AgreementState, events: AgreementEvent[]): string[] {
  const had = new Set(before.agreement?.reaffirms ?? []);
  const after = events.reduce(evolveAgreement, before);
  return (after.agreement?.reaffirms ?? []).filter((id) => !had.has(id));
}

/** One lock for every append that adds a reaffirmation: they are rare, and a cycle spans streams. */
const REAFFIRMATIONS_LOCK = 'accord:agreement-reaffirmations';

/**
 * A `beforeCommit` step for an append that makes `agreementId` reaffirm `added` (a reaffirmation,
 * or the retraction of the retraction of one). The decider checked the graph as read before the
 * append, without a lock: two crossing reaffirmations (A reaffirms B while B reaffirms A) would
 * both have passed. Here appends that add reaffirmations take their turn, and each walks the
 * graph as committed by the ones before it, inside its own transaction (on its own connection,
 * so that a queue of waiting appends cannot starve the pool of the one that holds the lock).
 */
export function refuseReaffirmationCycles(agreementId: string, added: readonly string[]) {
  return async (transaction: SqlClient): Promise<void> => {
    await transaction.query('SELECT pg_advisory_xact_lock(hashtext($1))', [REAFFIRMATIONS_LOCK]);
    for (const reaffirmed of added) {
      const graph = await gatherReaffirmations(reaffirmed, (id) => reaffirmsIn(transaction, id));
      ensureNoReaffirmationCycle(agreementId, reaffirmed, graph);
    }
  };
}

/** Agreement events have a single schema version: their payloads are read as stored. */
async function reaffirmsIn(transaction: SqlClient, agreementId: string): Promise<string[]> {
  const { rows } = await transaction.query<{
    event_id: string;
    type: string;
    payload: AgreementEvent['data'];
    actor: string | null;
  }>(
    `SELECT event_id, type, payload, metadata->>'actor' AS actor
       FROM events WHERE stream_id = $1 ORDER BY version`,
    [agreementStreamId(agreementId)],
  );
  const state = rows
    .map(
      (row) =>
        ({
          type: row.type,
          data: row.payload,
          metadata: { eventId: row.event_id, actor: row.actor ?? 'unknown' },
        }) as AgreementEvent,
    )
    .reduce(evolveAgreement, initialAgreementState());
  return state.agreement?.reaffirms ?? [];
}
