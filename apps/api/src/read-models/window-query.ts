import { InvalidAlertCursorError } from '@app/alerts';
import { InvalidCursorError } from '@app/projections';
import { InvalidWebhookCursorError } from '@app/webhooks';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { ApiProblem } from '../http';
import {
  calendarDateQuery,
  cursorQuery,
  instantQuery,
  minPositionQuery,
  pageLimitQuery,
} from './query-values';

/**
 * A window bound: an ISO 8601 instant with an offset, or a calendar date (`2026-11-30`), read
 * as a UTC day. `from` is inclusive and `to` exclusive, except that a date `to` includes its day.
 */
export const windowBound = z.union([instantQuery, calendarDateQuery], {
  message:
    'must be an ISO 8601 instant with an offset, or a date such as 2026-11-30, in years 0001–9999',
});

/**
 * `from` and `to` of a windowed read, described alike everywhere: `bounds` names what they
 * bound, `fromDefault` what an absent `from` means (an absent `to` leaves the window open).
 */
export function windowQuery(bounds: string, fromDefault = 'no lower bound') {
  return {
    from: windowBound
      .optional()
      .describe(
        `Start of the window on ${bounds}, inclusive: an ISO 8601 instant with an offset, or a ` +
          `date such as \`2026-11-30\` (its start, UTC). Default: ${fromDefault}.`,
      ),
    to: windowBound
      .optional()
      .describe(
        `End of the window on ${bounds}, exclusive: an ISO 8601 instant with an offset, or a ` +
          'date (that whole day included, UTC); later than `from`. Default: no upper bound.',
      ),
  };
}

const isDate = (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value);

export function windowOf(query: { from?: string; to?: string }): { from?: Date; to?: Date } {
  const from = query.from === undefined ? undefined : boundOf(query.from, 'start');
  const to = query.to === undefined ? undefined : boundOf(query.to, 'end');
  if (from && to && to <= from) {
    throw new ApiProblem(400, 'validation-failed', 'Validation failed', 'The query is invalid.', {
      errors: [{ field: 'to', message: 'must be later than from' }],
    });
  }
  return { from, to };
}

function boundOf(value: string, side: 'start' | 'end'): Date {
  if (!isDate(value)) return new Date(value);
  const day = DateTime.fromISO(value, { zone: 'utc' });
  return (side === 'start' ? day : day.plus({ days: 1 })).toJSDate();
}

/**
 * Runs a list query, answering a cursor the list did not hand out with a 400. (Each lib that
 * pages throws its own error: the read models', the alert schedule's and the webhooks' libs do
 * not depend on one another.)
 */
export async function withCursor<T>(list: () => Promise<T>): Promise<T> {
  try {
    return await list();
  } catch (error) {
    if (
      error instanceof InvalidCursorError ||
      error instanceof InvalidAlertCursorError ||
      error instanceof InvalidWebhookCursorError
    ) {
      throw new ApiProblem(400, 'validation-failed', 'Validation failed', 'The query is invalid.', {
        errors: [{ field: 'cursor', message: 'is not a cursor this list handed out' }],
      });
    }
    throw error;
  }
}

/** `cursor`, `limit` and `minPosition` of a keyset-paginated list. */
export const pageQuery = {
  cursor: cursorQuery(500),
  limit: pageLimitQuery,
  minPosition: minPositionQuery,
};
