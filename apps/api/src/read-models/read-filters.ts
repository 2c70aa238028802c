import { isPartyCode, MEASURE_KINDS, type MeasureStatus } from '@app/domain';
import { z } from 'zod';
import { instantQuery } from './query-values';

/**
 * The filters the read routes share, validated alike everywhere: a value no record can carry
 * (`us`, `ZZ`, a kind or status that does not exist) is a 400 naming the parameter, not an
 * empty page that looks like "nothing matches".
 */

/**
 * A party as the write side records it: an assigned ISO 3166-1 alpha-2 code in upper case (the
 * domain's list, so `XX` is refused like `us`).
 */
export const partyCodeQuery = z
  .string()
  .regex(/^[A-Z]{2}$/, { message: 'must be an ISO 3166-1 alpha-2 code in upper case, e.g. US' })
  .refine(isPartyCode, { message: 'must be an assigned ISO 3166-1 alpha-2 code' })
  .describe('An assigned ISO 3166-1 alpha-2 code in upper case, e.g. `US`, `CN`.');

export const measureKindQuery = z.enum(MEASURE_KINDS).describe('The kind of measure.');

export const MEASURE_STATUS_VALUES = [
  'threatened',
  'announced',
  'in-force',
  'partially-suspended',
  'suspended',
  'revoked',
] as const satisfies readonly MeasureStatus[];
// Every status the domain knows is listed: the build fails when the domain adds one.
const _everyStatus: Exclude<MeasureStatus, (typeof MEASURE_STATUS_VALUES)[number]> extends never
  ? true
  : never = true;

export const measureStatusQuery = z
  .enum(MEASURE_STATUS_VALUES)
  .describe('The measure’s status on `asOf`.');

/** The measures an agreement covers, by the agreement's id or code. */
export const agreementQuery = z
  .string()
  .max(200)
  .describe(
    'Only the measures with a suspension made or extended under this agreement, by its id (a ' +
      'UUID) or its code, e.g. `GENEVA-2025` (an unknown one: an empty page). The measures ' +
      'its commitments name are listed in the agreement itself (`GET /agreements/{id}`).',
  );

/** Measures whose suspension in force on `asOf` ends before an instant. */
export const endsBeforeQuery = instantQuery.describe(
  'Only the measures whose active suspension on `asOf` (the one an item shows: a whole ' +
    'suspension, else the earliest started) ends before this instant (an ISO 8601 instant with ' +
    'an offset in years 0001–9999, UTC). `GET /expiries` lists every suspension end.',
);

/** Free text, matched as typed. */
export const textSearchQuery = z
  .string()
  .max(200)
  .describe(
    'Text the measure’s code, title, summary, instrument or legal basis contains, in any case ' +
      '(`%` and `_` match themselves).',
  );

/** The filters of the measure list, which its CSV export takes too: one shape, spread into both. */
export const measureFilters = {
  imposingParty: partyCodeQuery.optional(),
  targetParty: partyCodeQuery.optional(),
  kind: measureKindQuery.optional(),
  status: measureStatusQuery.optional(),
  agreement: agreementQuery.optional(),
  endsBefore: endsBeforeQuery.optional(),
  q: textSearchQuery.optional(),
};
