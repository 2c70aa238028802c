import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { StreamCodeIndex } from '@app/trade';
import type { Pool } from 'pg';
import { CURSOR_KEYS, encodeCursor, readCursor } from '../cursor';

export interface SuspensionEndQuery {
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  imposingParty?: string;
  targetParty?: string;
  kind?: string;
  /** Lifted suspensions never reach their end; a calendar still wants them, to cancel them. */
  includeLifted?: boolean;
  after?: string;
  limit: number;
}

interface SuspensionEndRow {
  measure_id: string;
  suspension_id: string;
  measure_code: string | null;
  measure_title: string;
  measure_kind: string;
  imposing_party: string;
  target_parties: string[];
  time_zone: string;
  state: string;
  starts_at: Date | null;
  ends_at: Date;
  part_points: string | null;
  agreement_id: string | null;
  reinstates_automatically: boolean;
  lifted_at: Date | null;
  lapsed_at: Date | null;
  extensions: number;
  sequence: number;
  changed_at: Date;
}

/** A suspension end as the API shows it. */
export interface SuspensionEndView {
  suspensionId: string;
  endsAt: string;
  startsAt: string | null;
  /** `scheduled` or `active` (still to end or ending), `lapsed`, or `lifted` (when asked for). */
  state: string;
  part: { percentPoints: number } | null;
  reinstatesAutomatically: boolean;
  liftedAt: string | null;
  lapsedAt: string | null;
  /** How many times the end was extended. */
  extensions: number;
  /** Grows each time the suspension's row changes (an extension, a lifting, a retraction…). */
  revision: number;
  changedAt: string;
  measure: {
    id: string;
    code: string | null;
    title: string;
    kind: string;
    imposingParty: string;
    targetParties: string[];
    timeZone: string;
  };
  agreement: { id: string; code: string | null } | null;
}

/**
 * Suspension ends in a window, soonest first (keyset-paginated on end and suspension id). A
 * suspension counts while it has a known end and its measure is not revoked before that end;
 * lifted ones are left out unless asked for.
 */
@Injectable()
export class SuspensionEndQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {}

  async list(
    query: SuspensionEndQuery,
  ): Promise<{ items: SuspensionEndView[]; nextCursor: string | null }> {
    const cursor = readCursor(query.after, CURSOR_KEYS.suspensionEnds);
    const { rows } = await this.pool.query<SuspensionEndRow>(
      `SELECT * FROM suspension_ends
        WHERE ends_at IS NOT NULL
          AND ($1::timestamptz IS NULL OR ends_at >= $1)
          AND ($2::timestamptz IS NULL OR ends_at < $2)
          AND ($3::text IS NULL OR imposing_party = $3)
          AND ($4::text IS NULL OR target_parties @> ARRAY[$4])
          AND ($5::text IS NULL OR measure_kind = $5)
          AND ($6::boolean OR state <> 'lifted')
          AND (measure_revoked_at IS NULL OR measure_revoked_at > ends_at)
          AND ($7::timestamptz IS NULL OR (ends_at, suspension_id, measure_id) > ($7, $8::uuid, $9::uuid))
        ORDER BY ends_at, suspension_id, measure_id
        LIMIT $10`,
      [
        query.from ?? null,
        query.to ?? null,
        query.imposingParty ?? null,
        query.targetParty ?? null,
        query.kind ?? null,
        query.includeLifted ?? false,
        cursor?.at ?? null,
        cursor?.keys[0] ?? null,
        cursor?.keys[1] ?? null,
        query.limit + 1,
      ],
    );
    const page = rows.slice(0, query.limit);
    const agreementIds = [...new Set(page.flatMap((row) => row.agreement_id ?? []))];
    const codes = agreementIds.length
      ? await this.codes.codesOf(agreementIds)
      : new Map<string, string>();
    const last = page.at(-1);
    return {
      items: page.map((row) => toView(row, codes)),
      nextCursor:
        rows.length > query.limit && last
          ? encodeCursor(last.ends_at, [last.suspension_id, last.measure_id])
          : null,
    };
  }
}

function toView(row: SuspensionEndRow, codes: Map<string, string>): SuspensionEndView {
  const iso = (value: Date | null) => (value ? value.toISOString() : null);
  return {
    suspensionId: row.suspension_id,
    endsAt: row.ends_at.toISOString(),
    startsAt: iso(row.starts_at),
    state: row.state,
    part: row.part_points === null ? null : { percentPoints: Number(row.part_points) },
    reinstatesAutomatically: row.reinstates_automatically,
    liftedAt: iso(row.lifted_at),
    lapsedAt: iso(row.lapsed_at),
    extensions: row.extensions,
    revision: row.sequence,
    changedAt: row.changed_at.toISOString(),
    measure: {
      id: row.measure_id,
      code: row.measure_code,
      title: row.measure_title,
      kind: row.measure_kind,
      imposingParty: row.imposing_party,
      targetParties: row.target_parties,
      timeZone: row.time_zone,
    },
    agreement: row.agreement_id
      ? { id: row.agreement_id, code: codes.get(row.agreement_id) ?? null }
      : null,
  };
}
