import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { DomainError, isUuid } from '@app/domain';
import type { SqlClient } from '@app/event-store';
import type { Pool } from 'pg';

export type CodedKind = 'measure' | 'agreement';

const normalize = (code: string): string => code.trim().toUpperCase();
const CODE_SHAPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** Resolves `{id}` path segments (a UUID or a code) and claims codes at creation. */
@Injectable()
export class StreamCodeIndex {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** The aggregate id a code names, or the id itself when given a UUID; null when unknown. */
  async resolve(kind: CodedKind, idOrCode: string): Promise<string | null> {
    if (isUuid(idOrCode)) return idOrCode.toLowerCase();
    // Anything that cannot be a code names nothing (and a NUL would not even reach the query).
    if (!CODE_SHAPE.test(idOrCode)) return null;
    const { rows } = await this.pool.query<{ aggregate_id: string }>(
      'SELECT aggregate_id FROM stream_codes WHERE kind = $1 AND normalized_code = $2',
      [kind, normalize(idOrCode)],
    );
    return rows[0]?.aggregate_id ?? null;
  }

  /** The codes of these aggregates, for views that show codes beside ids. */
  async codesOf(ids: string[]): Promise<Map<string, string>> {
    if (!ids.length) return new Map();
    const { rows } = await this.pool.query<{ aggregate_id: string; code: string }>(
      'SELECT aggregate_id, code FROM stream_codes WHERE aggregate_id = ANY($1::uuid[])',
      [ids],
    );
    return new Map(rows.map((row) => [row.aggregate_id, row.code]));
  }

  /** A `beforeCommit` step that claims the code inside the append's transaction. */
  claim(kind: CodedKind, code: string, aggregateId: string) {
    return async (transaction: SqlClient): Promise<void> => {
      const { rowCount } = await transaction.query(
        `INSERT INTO stream_codes (kind, normalized_code, code, aggregate_id)
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [kind, normalize(code), code, aggregateId],
      );
      if (rowCount === 0) {
        throw new DomainError(
          kind === 'measure' ? 'measure-code-taken' : 'agreement-code-taken',
          `The code ${code} already names another ${kind}`,
          { code },
        );
      }
    };
  }
}
