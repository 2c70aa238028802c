import type { QueryResultRow } from 'pg';
import type { EntityManager } from 'typeorm';

/** A pg pool, client or pool client: anything whose `query` answers `{ rows, rowCount }`. */
export interface PgQueryable {
  query<R extends QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Where a caller's transaction runs: a TypeORM EntityManager or a pg client. */
export type SqlRunner = EntityManager | PgQueryable;

/**
 * Runs a statement on either kind of runner and returns its rows. TypeORM's `query` answers the
 * rows themselves for SELECT and INSERT … RETURNING (and `[rows, count]` for UPDATE/DELETE, which
 * this helper is not used for); pg answers a result object.
 */
export async function queryRows<R extends QueryResultRow>(
  runner: SqlRunner,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const result = (await (runner as { query(t: string, v: unknown[]): Promise<unknown> }).query(
    text,
    values,
  )) as R[] | { rows: R[] };
  return Array.isArray(result) ? result : result.rows;
}
