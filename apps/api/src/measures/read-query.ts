import { z } from 'zod';
import { ApiProblem } from '../http';
import {
  cursorQuery,
  instantQuery,
  knownAtQuery,
  minPositionQuery,
  pageLimitQuery,
} from '../read-models/query-values';

/**
 * `asOf` (valid time) and `knownAt` (transaction time), both defaulting to now; `minPosition`.
 * The instants are the shared query instant: out of 0001–9999 they are a 400 naming the
 * parameter on every read, before any read model is asked.
 */
export const statusQuerySchema = z.strictObject({
  asOf: instantQuery
    .optional()
    .describe(
      'Valid time: the date the answer is for, an ISO 8601 instant with an offset in years ' +
        '0001–9999 (UTC). Default: now.',
    ),
  knownAt: knownAtQuery,
  minPosition: minPositionQuery,
});

export const listQuerySchema = statusQuerySchema.extend({
  cursor: cursorQuery('uuid'),
  limit: pageLimitQuery,
});

export function toDates(query: { asOf?: string; knownAt?: string }): {
  asOf: Date;
  knownAt?: Date;
} {
  return {
    asOf: query.asOf ? new Date(query.asOf) : new Date(),
    knownAt: query.knownAt ? new Date(query.knownAt) : undefined,
  };
}

/** `asOf` and `knownAt` as the request gave them (absent: now), for a tagged single read. */
export function requestedDates(query: { asOf?: string; knownAt?: string }): {
  asOf?: Date;
  knownAt?: Date;
} {
  return {
    asOf: query.asOf === undefined ? undefined : new Date(query.asOf),
    knownAt: query.knownAt === undefined ? undefined : new Date(query.knownAt),
  };
}

export function notCaughtUp(minPosition: number): ApiProblem {
  return new ApiProblem(
    503,
    'not-caught-up',
    'Read model not caught up',
    `The read model has not reached position ${minPosition} yet; retry shortly.`,
    { minPosition },
    { 'retry-after': '1' },
  );
}
