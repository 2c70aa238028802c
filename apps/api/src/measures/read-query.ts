import { z } from 'zod';
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

/**
 * What a not-found detail adds for a read as known at an earlier time: the thing may well exist
 * and only have been recorded later (`knownAt` is when this Accord recorded a fact).
 */
export function asKnownAt(knownAt: Date | undefined): string {
  return knownAt === undefined ? '' : ` as known at ${knownAt.toISOString()}`;
}
