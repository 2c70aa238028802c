import { createApiKeyInputSchema, API_KEY_ROLES } from '@app/api-keys';
import {
  amendMeasureBody,
  changeCommitmentStatusBody,
  concludeAgreementBody,
  effectiveBody,
  extendExclusionBody,
  extendSuspensionBody,
  grantExclusionBody,
  rateSchema,
  reaffirmAgreementBody,
  recordClaimBody,
  recordCommitmentBody,
  recordMeasureBody,
  retractionBody,
  scheduleSuspensionBody,
  scopeSchema,
  sourceSchema,
  type WriteResult,
} from '@app/trade';
import type { SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import type { ApiKeyDto, CreatedApiKeyDto } from '../api-keys/api-keys.dto';
import type { ProblemDocument } from '../http';
import { READ_RESPONSE_SCHEMAS } from './read-schemas';

/**
 * Every schema of the OpenAPI document, generated from zod: the request bodies are the very
 * schemas the controllers validate with (so the document cannot drift from the validation),
 * the responses are described here (those of the read routes in read-schemas.ts) and checked
 * against the TypeScript types they describe.
 */

/** The request bodies, named as `components.schemas` (and as their TypeScript types). */
export const REQUEST_BODY_SCHEMAS = {
  RecordMeasureBody: recordMeasureBody,
  AmendMeasureBody: amendMeasureBody,
  ScheduleSuspensionBody: scheduleSuspensionBody,
  ExtendSuspensionBody: extendSuspensionBody,
  /** Lifting a suspension and revoking a measure: `{ effectiveAt, sources }`. */
  EffectiveBody: effectiveBody,
  GrantExclusionBody: grantExclusionBody,
  ExtendExclusionBody: extendExclusionBody,
  RecordClaimBody: recordClaimBody,
  RetractionBody: retractionBody,
  ConcludeAgreementBody: concludeAgreementBody,
  RecordCommitmentBody: recordCommitmentBody,
  ChangeCommitmentStatusBody: changeCommitmentStatusBody,
  ReaffirmAgreementBody: reaffirmAgreementBody,
  CreateApiKeyBody: createApiKeyInputSchema,
} as const satisfies Record<string, z.ZodType>;

export type RequestBodyName = keyof typeof REQUEST_BODY_SCHEMAS;

// Any 8-4-4-4-12 hex id: imported data carries name-based (deterministic) ids, not only v4.
const uuid = z.guid();

const writeResult = z.strictObject({
  id: uuid.describe('The id of the measure or agreement written to.'),
  version: z
    .int()
    .min(1)
    .describe('The stream’s version after this write; also sent as the `ETag`.'),
  position: z
    .int()
    .min(1)
    .describe('Global position of the last event written (read-your-writes: `minPosition`).'),
  eventIds: z
    .array(uuid)
    .describe(
      'The events this write appended; on a replay, the events the first request appended.',
    ),
  suspensionId: uuid.optional().describe('Set when this write scheduled a suspension.'),
  exclusionId: uuid.optional().describe('Set when this write granted an exclusion.'),
  commitmentId: uuid.optional().describe('Set when this write recorded a commitment.'),
  claimId: uuid.optional().describe('Set when this write recorded a party’s claim.'),
  replayed: z
    .boolean()
    .describe(
      'True when this is a retry (same `Idempotency-Key`): nothing was appended, and the ' +
        'response is the first one’s (same `id`, `version`, `position`, `eventIds`).',
    ),
});

const fieldError = z.strictObject({
  field: z.string().describe('Dotted path of the offending field, e.g. `rate.percent`.'),
  message: z.string(),
});

const problem = z
  .looseObject({
    type: z.string().describe('URI naming the problem: `https://accord.dev/problems/<code>`.'),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().optional(),
    code: z.string().describe('Stable, kebab-case name of the problem that clients switch on.'),
    instance: z.string().optional().describe('The request path.'),
    errors: z
      .array(fieldError)
      .optional()
      .describe('Validation problems: one entry per offending field.'),
  })
  .describe(
    'RFC 9457 problem details (`application/problem+json`). Further members carry the ' +
      'problem’s data, e.g. `currentVersion` on a 412 or `limit` on a 413.',
  );

const role = z.enum(API_KEY_ROLES);
const apiKey = z.strictObject({
  id: uuid,
  name: z.string(),
  role,
  prefix: z
    .string()
    .describe(
      'The first characters of the key, to recognise it by; `(ADMIN_API_KEY)` for the bootstrap key, whose characters are chosen by hand.',
    ),
  createdAt: z.iso.datetime(),
  lastUsedAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
});
const createdApiKey = z.strictObject({
  id: uuid,
  name: z.string(),
  role,
  prefix: z.string(),
  key: z.string().describe('The secret: shown in this response only, never again.'),
  createdAt: z.iso.datetime(),
});
const apiKeyList = z.strictObject({ items: z.array(apiKey), nextCursor: z.null() });

const check = z.union([
  z.strictObject({ status: z.literal('up') }),
  z.strictObject({ status: z.literal('down'), error: z.string() }),
]);
const liveness = z.strictObject({ status: z.literal('ok') });
const readiness = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  checks: z.strictObject({ postgres: check, redis: check, migrations: check }),
});

/** Shared parts, extracted so that every body refers to one `Source`, `Rate` and `Scope`. */
const SHARED_SCHEMAS = { Source: sourceSchema, Rate: rateSchema, Scope: scopeSchema };

export const RESPONSE_SCHEMAS = {
  WriteResult: writeResult,
  Problem: problem,
  FieldError: fieldError,
  ApiKey: apiKey,
  CreatedApiKey: createdApiKey,
  ApiKeyList: apiKeyList,
  Liveness: liveness,
  Readiness: readiness,
} as const;

export type SchemaName =
  | RequestBodyName
  | keyof typeof SHARED_SCHEMAS
  | keyof typeof RESPONSE_SCHEMAS
  | keyof typeof READ_RESPONSE_SCHEMAS;

/** `{ $ref: '#/components/schemas/<name>' }`. */
export function schemaRef(name: SchemaName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

/** `components.schemas` of the document: JSON Schema 2020-12, as OpenAPI 3.1 takes it. */
export function componentSchemas(): Record<string, SchemaObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries({
    ...SHARED_SCHEMAS,
    ...REQUEST_BODY_SCHEMAS,
    ...RESPONSE_SCHEMAS,
    ...READ_RESPONSE_SCHEMAS,
  })) {
    registry.add(schema, { id });
  }
  const { schemas } = z.toJSONSchema(registry, {
    target: 'draft-2020-12',
    io: 'input',
    uri: (id) => `#/components/schemas/${id}`,
  });
  if ('__shared' in schemas) {
    throw new Error('A request or response schema is recursive: name its parts in the registry');
  }
  return Object.fromEntries(
    Object.entries(schemas).map(([id, schema]) => {
      // Their `$id`s would make each a resource of its own, against which the `$ref`s (made
      // relative to the document by `uri`) no longer resolve.
      const { $id: _id, $schema: _schema, ...rest } = schema;
      const base = rest as SchemaObject;
      const alternatives = EXACTLY_ONE_OF[id as RequestBodyName];
      return [id, alternatives ? withExactlyOneOf(base, alternatives) : base];
    }),
  );
}

/**
 * The pairs of fields a body needs exactly one of: the bodies' zod schemas say so by
 * refinement (see trade-write.schemas.ts), which JSON Schema cannot see, so they are written
 * out here as `oneOf`s, and the e2e suite checks that the server refuses what they refuse.
 */
const EXACTLY_ONE_OF: Partial<Record<RequestBodyName, [string, string][]>> = {
  ScheduleSuspensionBody: [
    ['startsAt', 'startsWhen'],
    ['endsAt', 'duration'],
  ],
  ExtendSuspensionBody: [['endsAt', 'duration']],
};

function withExactlyOneOf(schema: SchemaObject, pairs: [string, string][]): SchemaObject {
  const oneOfs = pairs.map((pair) => ({ oneOf: pair.map((name) => ({ required: [name] })) }));
  return oneOfs.length === 1 ? { ...schema, ...oneOfs[0] } : { ...schema, allOf: oneOfs };
}

// The response schemas describe these types: the build fails when either side changes.
type Describes<S, T> = [S] extends [T]
  ? [keyof S] extends [keyof T]
    ? [keyof T] extends [keyof S]
      ? true
      : false
    : false
  : false;
const describes = <_T extends true>() => undefined;
describes<Describes<z.output<typeof writeResult>, WriteResult>>();
describes<Describes<z.output<typeof apiKey>, ApiKeyDto>>();
describes<Describes<z.output<typeof createdApiKey>, CreatedApiKeyDto>>();
// A problem document is open (extension members), so only one way round:
describes<z.output<typeof problem> extends ProblemDocument ? true : false>();
