import { isInStorableRange } from '@app/domain';
import { z } from 'zod';

/**
 * The values query parameters take, one schema each for every route, so that the same string
 * means the same thing (or the same 400) wherever it is sent, and the document says so.
 */

const STORABLE_RANGE = 'must be between 0001-01-01 and 9999-12-31 (UTC)';

/**
 * zod's own pattern (what it validates with) minus year 0000, which the document gives so
 * that a client validating by it does not send what the server refuses. An offset can still
 * carry a year-0001 or year-9999 instant across the edge (`0001-01-01T00:00:00+01:00`): the
 * refinement catches those, the description says so.
 */
const withoutYearZero = (pattern: RegExp) => `^(?!0000-)${pattern.source.slice(1)}`;

/**
 * An ISO 8601 instant with an offset, in the years the store keeps (0001–9999, UTC): outside
 * them no record can be, so a 400 naming the parameter rather than a page that looks empty, or
 * the 422 `invalid-instant` some reads used to give.
 */
export const instantQuery = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 instant with an offset', abort: true })
  .refine((value) => isInStorableRange(new Date(value)), { message: STORABLE_RANGE })
  .meta({
    pattern: withoutYearZero(z.regexes.datetime({ offset: true, precision: null, local: false })),
  });

/** A calendar date (`2026-11-30`) in years 0001–9999. */
export const calendarDateQuery = z.iso
  .date({ message: 'must be a date such as 2026-11-30', abort: true })
  .refine((value) => !value.startsWith('0000-'), { message: STORABLE_RANGE })
  .meta({ pattern: withoutYearZero(z.regexes.date) });

const DECIMAL = /^\d+$/;

/**
 * A whole number written in decimal digits, from `min` to `max` (`fallback` when absent):
 * `0x10`, `1e2`, `5.0`, ` 5` and an empty value are refused, where Number() would read them as
 * 16, 100, 5, 5 and 0. Documented as the integer it is: the digits become a number before the
 * schema that the document describes sees them (the default sits inside it for that reason).
 */
export function wholeNumberQuery(min: number, max = Number.MAX_SAFE_INTEGER, fallback?: number) {
  const number = z
    .number({
      error: (issue) =>
        issue.code === 'invalid_type' ? 'must be a whole number in decimal digits' : undefined,
    })
    .int()
    .min(min)
    .max(max);
  return z.preprocess(
    (value) => (typeof value === 'string' && DECIMAL.test(value) ? Number(value) : value),
    fallback === undefined ? number : number.default(fallback),
  );
}

/**
 * `cursor` of a keyset-paginated list: the `nextCursor` it handed out, which its lib reads. What
 * the lib writes there is opaque to clients, but not to the parser: a UUID (`'uuid'`), or a
 * string of at most `maxLength` characters, longer than any the lib hands out.
 */
export function cursorQuery(spelling: number | 'uuid') {
  const value = spelling === 'uuid' ? z.string().uuid() : z.string().max(spelling);
  return value
    .optional()
    .describe('The `nextCursor` of the previous page; absent: the first page.');
}

/** `limit` of a paginated list. */
export const pageLimitQuery = wholeNumberQuery(1, 200, 50).describe(
  'Items per page, 1–200 (default 50).',
);

/**
 * The query of a route that takes no parameter: any is refused (400 naming it), so that a
 * client that thinks it is paging or filtering learns it is not.
 */
export const noQuery = z.strictObject({});
export type NoQuery = z.output<typeof noQuery>;

/** `knownAt`, transaction time, on every read that takes it. */
export const knownAtQuery = instantQuery
  .optional()
  .describe(
    'Transaction time: answer with only what had been recorded by then (and not yet ' +
      'retracted), an ISO 8601 instant with an offset in years 0001–9999 (UTC). Default: now. ' +
      'Nothing is recorded in the future, so a later instant answers as now does, and is ' +
      'reported as now.',
  );

/** `minPosition`, the read-your-writes wait of every read route that has one. */
export const minPositionQuery = wholeNumberQuery(0)
  .optional()
  .describe(
    'Read your writes: the `position` a write answered with. The read waits (about 5 s at ' +
      'most) until its read model has reached it, then answers 503 `not-caught-up` with ' +
      '`Retry-After`. A position beyond the head of the log (no event has it yet) is a 400 ' +
      '`min-position-beyond-head` at once, with the `head`. Absent: answers at once, from ' +
      'wherever the read model is.',
  );
