import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { isInStorableRange, isUuid } from '@app/domain';
import type { Pool } from 'pg';

export interface AlertView {
  id: string;
  measureId: string;
  suspensionId: string;
  leadTime: string;
  state: string;
  outcome: string | null;
  /** The intended fire time. */
  fireAt: string;
  endAt: string;
  endVersion: number;
  enqueuedAt: string | null;
  firedAt: string | null;
  /** The first successful delivery of this alert to any subscription. */
  deliveredAt: string | null;
  cancelledAt: string | null;
  createdAt: string;
}

export interface AlertListQuery {
  measureId?: string;
  suspensionId?: string;
  state?: string;
  /** Only alerts due at or after this instant. */
  from?: Date;
  /** Only alerts due before this instant. */
  to?: Date;
  /** The `nextCursor` of the previous page. */
  after?: string;
  limit: number;
}

interface AlertRow {
  id: string;
  measure_id: string;
  suspension_id: string;
  lead_time: string;
  state: string;
  outcome: string | null;
  fire_at: Date;
  end_at: Date;
  end_version: string;
  enqueued_at: Date | null;
  fired_at: Date | null;
  delivered_at: Date | null;
  cancelled_at: Date | null;
  created_at: Date;
}

/** The alert schedule as operators read it: intended, fired and delivered times per alert. */
@Injectable()
export class AlertQueries {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Alerts by intended fire time; a page and the cursor of the next one (null at the end). */
  async list(query: AlertListQuery): Promise<{ items: AlertView[]; nextCursor: string | null }> {
    const after = query.after ? decodeCursor(query.after) : undefined;
    const { rows } = await this.pool.query<AlertRow>(
      `SELECT * FROM alert_schedule
        WHERE ($1::uuid IS NULL OR measure_id = $1)
          AND ($2::text IS NULL OR suspension_id = $2)
          AND ($3::text IS NULL OR state = $3)
          AND ($4::timestamptz IS NULL OR fire_at >= $4)
          AND ($5::timestamptz IS NULL OR fire_at < $5)
          AND ($6::timestamptz IS NULL OR (fire_at, id) > ($6, $7::uuid))
        ORDER BY fire_at, id LIMIT $8`,
      [
        query.measureId ?? null,
        query.suspensionId ?? null,
        query.state ?? null,
        query.from ?? null,
        query.to ?? null,
        after?.fireAt ?? null,
        after?.id ?? null,
        query.limit + 1,
      ],
    );
    const items = rows.slice(0, query.limit).map(toView);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.fireAt, last.id) : null,
    };
  }
}

export class InvalidAlertCursorError extends Error {
  constructor() {
    super('The cursor is not one this list returned');
    this.name = 'InvalidAlertCursorError';
  }
}

function encodeCursor(fireAt: string, id: string): string {
  return Buffer.from(`${fireAt}|${id}`).toString('base64url');
}

function decodeCursor(cursor: string): { fireAt: Date; id: string } {
  const [fireAt, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const instant = new Date(fireAt ?? '');
  if (!isInStorableRange(instant) || !isUuid(id ?? '')) {
    throw new InvalidAlertCursorError();
  }
  return { fireAt: instant, id };
}

const iso = (value: Date | null) => value?.toISOString() ?? null;

function toView(row: AlertRow): AlertView {
  return {
    id: row.id,
    measureId: row.measure_id,
    suspensionId: row.suspension_id,
    leadTime: row.lead_time,
    state: row.state,
    outcome: row.outcome,
    fireAt: row.fire_at.toISOString(),
    endAt: row.end_at.toISOString(),
    endVersion: Number(row.end_version),
    enqueuedAt: iso(row.enqueued_at),
    firedAt: iso(row.fired_at),
    deliveredAt: iso(row.delivered_at),
    cancelledAt: iso(row.cancelled_at),
    createdAt: row.created_at.toISOString(),
  };
}
