import { DomainError, textRefusal } from '@app/domain';
import { z } from 'zod';

/**
 * Request bodies of the write API (SPEC §4 wire shapes), shared by the HTTP controllers and the
 * dataset importer so that both validate alike. Shapes and formats are checked here (400);
 * the rules of the trade (party codes, non-negative rates, dates in order) by libs/domain (422).
 */

const instant = z.iso.datetime({
  offset: true,
  message: 'must be an ISO 8601 instant with an offset',
});
const duration = z
  .string()
  .regex(/^-?P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/, {
    message: 'must be an ISO 8601 duration such as P1Y or P90D',
  });
// Text Accord can keep (see textRefusal): a 400 here instead of a failed append (500).
const string = () =>
  z.string().superRefine((value, context) => {
    const refusal = textRefusal(value);
    if (refusal) context.addIssue({ code: 'custom', message: refusal, input: value });
  });
const text = string().trim().min(1);
const party = string();
const reference = text.max(200);

export const sourceSchema = z.strictObject({
  issuer: text.max(500),
  title: text.max(1000),
  url: string().optional(),
  documentNumber: text.optional(),
  publishedAt: text.optional(),
  official: z.boolean(),
  language: text.optional(),
  confidence: z.enum(['H', 'M', 'L']).optional(),
  unconfirmed: z.boolean().optional(),
});
// Every fact carries its source: an empty list is refused here, naming the field.
const sources = z.array(sourceSchema).min(1).max(50);

// Bounds far above any tariff there has been, so that sums over many measures (the tariff
// summary) stay finite numbers; below zero is the domain's rule (422).
const percent = z.number().max(100_000);
const amount = z.number().max(1_000_000_000_000);
const adValorem = z.strictObject({
  type: z.literal('ad-valorem'),
  percent,
  schedule: z.array(z.strictObject({ from: instant, percent })).optional(),
});
const specific = z.strictObject({
  type: z.literal('specific'),
  amount,
  currency: string(),
  unit: text,
  schedule: z.array(z.strictObject({ from: instant, amount })).optional(),
});
export const rateSchema = z.discriminatedUnion('type', [adValorem, specific]);

export const scopeSchema = z.strictObject({
  description: text.optional(),
  hsCodes: z.array(string()).max(1000).optional(),
  inclusions: z.array(party).optional(),
  allProducts: z.boolean().optional(),
});

export const MEASURE_KIND_VALUES = [
  'tariff',
  'export-control',
  'entity-list',
  'port-fee',
  'sanction',
  'investigation',
  'other',
] as const;

export const recordMeasureBody = z.strictObject({
  code: text.max(64).optional(),
  title: text.max(500),
  kind: z.enum(MEASURE_KIND_VALUES),
  imposingParty: party,
  targetParties: z.array(party).min(1),
  legalBasis: text.max(2000).optional(),
  instrument: text.max(500).optional(),
  summary: text.max(5000).optional(),
  rate: rateSchema.optional(),
  scope: scopeSchema.optional(),
  timeZone: text.optional(),
  threatenedAt: instant.optional(),
  announcedAt: instant.optional(),
  effectiveAt: instant.optional(),
  /** Ids or codes of the measures this one answers. */
  respondsTo: z.array(reference).optional(),
  sources,
});

export const amendMeasureBody = z.strictObject({
  rate: rateSchema.optional(),
  scope: scopeSchema.optional(),
  effectiveAt: instant,
  sources,
});

export const scheduleSuspensionBody = z
  .strictObject({
    startsAt: instant.optional(),
    startsWhen: z.strictObject({ measure: reference, suspension: reference }).optional(),
    endsAt: instant.optional(),
    duration: duration.optional(),
    part: z.strictObject({ percentPoints: z.number() }).optional(),
    /** Id or code of the agreement this suspension implements. */
    agreement: reference.optional(),
    reinstatesAutomatically: z.boolean().optional(),
    effectiveAt: instant.optional(),
    sources,
  })
  .refine((body) => (body.startsAt === undefined) !== (body.startsWhen === undefined), {
    message: 'give exactly one of startsAt and startsWhen',
    path: ['startsAt'],
  })
  .refine((body) => (body.endsAt === undefined) !== (body.duration === undefined), {
    message: 'give exactly one of endsAt and duration',
    path: ['endsAt'],
  });

export const extendSuspensionBody = z
  .strictObject({
    endsAt: instant.optional(),
    duration: duration.optional(),
    agreement: reference.optional(),
    effectiveAt: instant.optional(),
    sources,
  })
  .refine((body) => (body.endsAt === undefined) !== (body.duration === undefined), {
    message: 'give exactly one of endsAt and duration',
    path: ['endsAt'],
  });

export const effectiveBody = z.strictObject({ effectiveAt: instant, sources });

export const grantExclusionBody = z.strictObject({
  description: text.max(5000),
  hsCodes: z.array(string()).max(1000).optional(),
  effectiveAt: instant,
  endsAt: instant.optional(),
  sources,
});

export const extendExclusionBody = z.strictObject({
  endsAt: instant,
  effectiveAt: instant.optional(),
  sources,
});

export const recordClaimBody = z.strictObject({
  party,
  statement: text.max(5000),
  about: text.max(500).optional(),
  effectiveAt: instant.optional(),
  sources,
});

export const retractionBody = z.strictObject({
  // Event ids are stored in lower case; a UUID in upper case names the same event.
  eventId: z
    .uuid({ message: 'must be the UUID of an event of this stream' })
    .transform((id) => id.toLowerCase()),
  reason: text.max(5000),
  sources,
});

export const COMMITMENT_KIND_VALUES = [
  'suspend',
  'cancel',
  'adjust',
  'extend',
  'purchase',
  'cooperate',
  'address-issue',
] as const;

export const concludeAgreementBody = z.strictObject({
  code: text.max(64).optional(),
  title: text.max(500),
  parties: z.array(party).min(1),
  venue: text.max(500).optional(),
  summary: text.max(5000).optional(),
  concludedAt: instant,
  sources,
});

export const recordCommitmentBody = z.strictObject({
  obligor: party,
  kind: z.enum(COMMITMENT_KIND_VALUES),
  text: text.max(5000),
  /** Ids or codes of the measures the commitment concerns. */
  measures: z.array(reference).optional(),
  dueAt: instant.optional(),
  condition: text.max(2000).optional(),
  effectiveAt: instant.optional(),
  sources,
});

export const changeCommitmentStatusBody = z.strictObject({
  status: z.enum(['pending', 'fulfilled', 'lapsed', 'breached']),
  note: text.max(2000).optional(),
  effectiveAt: instant,
  sources,
});

export const reaffirmAgreementBody = z.strictObject({
  /** Id or code of the earlier agreement. */
  reaffirms: reference,
  effectiveAt: instant.optional(),
  sources,
});

export type RecordMeasureBody = z.infer<typeof recordMeasureBody>;
export type AmendMeasureBody = z.infer<typeof amendMeasureBody>;
export type ScheduleSuspensionBody = z.infer<typeof scheduleSuspensionBody>;
export type ExtendSuspensionBody = z.infer<typeof extendSuspensionBody>;
export type EffectiveBody = z.infer<typeof effectiveBody>;
export type GrantExclusionBody = z.infer<typeof grantExclusionBody>;
export type ExtendExclusionBody = z.infer<typeof extendExclusionBody>;
export type RecordClaimBody = z.infer<typeof recordClaimBody>;
export type RetractionBody = z.infer<typeof retractionBody>;
export type ConcludeAgreementBody = z.infer<typeof concludeAgreementBody>;
export type RecordCommitmentBody = z.infer<typeof recordCommitmentBody>;
export type ChangeCommitmentStatusBody = z.infer<typeof changeCommitmentStatusBody>;
export type ReaffirmAgreementBody = z.infer<typeof reaffirmAgreementBody>;

/**
 * RecordMeasure nests the definition under `measure`; the request body (and a dataset
 * file's) does not. Names the offending field as the client wrote it.
 */
export function recordMeasureErrorInBodyTerms(error: unknown): unknown {
  if (!(error instanceof DomainError)) return error;
  const field = error.details.field;
  if (typeof field !== 'string' || !field.startsWith('measure.')) return error;
  const bodyField = field.slice('measure.'.length);
  return new DomainError(error.code, error.message.replace(field, bodyField), {
    ...error.details,
    field: bodyField,
  });
}
