import { z } from 'zod';
import { ApiProblem } from '../http';

const instant = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 instant with an offset',
});

/** `asOf` (valid time) and `knownAt` (transaction time), both defaulting to now; `minPosition`. */
export const statusQuerySchema = z.strictObject({
  asOf: instant.optional(),
  knownAt: instant.optional(),
  minPosition: z.coerce.number().int().min(0).optional(),
});

export const listQuerySchema = statusQuerySchema.extend({
  cursor: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
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
