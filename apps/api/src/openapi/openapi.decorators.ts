import { applyDecorators } from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiParam,
  ApiResponse,
  type HeadersObject,
  type ParameterObject,
  type SchemaObject,
} from '@nestjs/swagger';
import { problemResponse, type ProblemStatus } from './problem-responses';
import { schemaRef, type RequestBodyName, type SchemaName } from './openapi-schemas';

/**
 * The OpenAPI description of the write API's conventions, as decorators for its handlers:
 * `@ApiWrite('RecordMeasureBody', { creates: 'the measure' })`, `@ApiIdOrCodeParam('measure')`.
 * Security (bearerAuth, 401, 403) is not declared here: the document takes it from the same
 * `@Roles` / `@Public` metadata the guard enforces (see openapi-document.ts).
 */

/** The `ETag` of a write's answer: the version `what` is at now, which `If-Match` names. */
const versionTag = (what: string): HeadersObject => ({
  ETag: {
    description: `${what}’s new version, e.g. \`"2"\`: send it back as \`If-Match\`.`,
    schema: { type: 'string' },
  },
});
const ETAG = versionTag('The stream');
const LOCATION: HeadersObject = {
  Location: { description: 'Where the new resource lives.', schema: { type: 'string' } },
};

/**
 * One element as the server reads it (if-match.ts): any quoted entity tag (one Accord did not
 * issue names no version: 412, not 400), or an older client's bare version.
 */
const IF_MATCH_ELEMENT = '(?:W/)?(?:"[\\x21\\x23-\\x7e]{0,256}"|\\d{1,15}(?:\\.[\\w-]{1,64})?)';
const IF_MATCH_LIST = `^\\s*(?:\\*|${IF_MATCH_ELEMENT}(?:\\s*,\\s*${IF_MATCH_ELEMENT})*)\\s*$`;

/**
 * `If-Match` on a write, with what it answers: 412 `precondition-failed` when the version has
 * moved on, 400 `invalid-if-match` when the header is not a list of versions. One decorator for
 * every route that reads the header (through `expectedVersionOf`), so none can leave a status
 * out. `description` says what the version is of and how it is compared.
 */
export function ApiIfMatch(description: string, preconditionFailed?: string): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-Match',
      required: false,
      description:
        `${description} 412 \`precondition-failed\` with \`currentVersion\` when it has moved ` +
        'on; 400 `invalid-if-match` when malformed.',
      schema: { type: 'string', pattern: IF_MATCH_LIST, example: '"3"' },
    }),
    ApiResponse({ status: 400, ...problemResponse(400) }),
    ApiResponse({ status: 412, ...problemResponse(412, preconditionFailed) }),
  );
}

/**
 * `Idempotency-Key` on a write, as WriteContext reads it: 1 to 200 visible ASCII characters (400
 * `invalid-idempotency-key` otherwise), scoped to the calling API key. `description` says what a
 * retry with it answers.
 */
export function ApiIdempotencyKey(description: string): MethodDecorator {
  return ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description,
    schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$', maxLength: 200 },
  });
}

/** The error statuses every write can answer with (401 and 403 come with its role). */
const WRITE_PROBLEMS: ProblemStatus[] = [404, 409, 413, 415, 422];

export interface ApiWriteOptions {
  /**
   * What the write creates (a measure, a suspension, …): it answers 201 with `Location`.
   * Without it, the write answers 200.
   */
  creates?: string;
}

/** A command endpoint: its zod body (by component name), `If-Match`, `Idempotency-Key`. */
export function ApiWrite(body: RequestBodyName, options: ApiWriteOptions = {}): MethodDecorator {
  const replay =
    'A retry with an `Idempotency-Key` already used for this request repeats the first ' +
    'response, with `replayed: true`, and appends nothing.';
  const success = options.creates
    ? ApiResponse({
        status: 201,
        description: `Recorded; creates ${options.creates}. ${replay}`,
        headers: { ...ETAG, ...LOCATION },
        schema: schemaRef('WriteResult'),
      })
    : ApiResponse({
        status: 200,
        description: `Recorded. ${replay}`,
        headers: ETAG,
        schema: schemaRef('WriteResult'),
      });
  return applyDecorators(
    ApiBody({ required: true, schema: schemaRef(body) }),
    ApiIfMatch(
      'Makes the write conditional on the stream’s current version (its `ETag`, e.g. ' +
        '`"3"`, or the `W/"3.…"` of a read, whose version is compared), or on any of a ' +
        'list of them (`"3", "4"`, at most 32); `*` asks only that it exist.',
    ),
    ApiIdempotencyKey(
      'Makes a retried POST safe: the same key (per API key) returns the first response and ' +
        'appends nothing; reused for a different request, it is a 422.',
    ),
    ApiHeader({
      name: 'X-Correlation-Id',
      required: false,
      description: 'Stored in the metadata of every event the write appends (first 200 chars).',
      schema: { type: 'string' },
    }),
    success,
    ...WRITE_PROBLEMS.map((status) => ApiResponse({ status, ...problemResponse(status) })),
  );
}

const EXAMPLE_CODES = { measure: 'US-RECIPROCAL-CN', agreement: 'GENEVA-2025' } as const;

/** The path parameters that name a measure or an agreement by its UUID or its code. */
export type IdOrCodeName = keyof typeof EXAMPLE_CODES;

export function isIdOrCodeName(name: string): name is IdOrCodeName {
  return Object.hasOwn(EXAMPLE_CODES, name);
}

/** The `{measure}` or `{agreement}` path parameter: the aggregate's UUID or its code. */
export function idOrCodeParameter(name: IdOrCodeName): ParameterObject {
  return {
    name,
    in: 'path',
    required: true,
    description: `The ${name}’s id (a UUID) or its code, e.g. \`${EXAMPLE_CODES[name]}\`.`,
    schema: {
      type: 'string',
      anyOf: [
        { type: 'string', format: 'uuid', description: 'id' },
        { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$', description: 'code' },
      ],
    },
    examples: {
      code: { summary: 'by code', value: EXAMPLE_CODES[name] },
      id: { summary: 'by id', value: '5f0c6a8e-3b8e-4c1e-9a51-2f7d3c9e8b10' },
    },
  };
}

/** A `{measure}` or `{agreement}` path segment: the aggregate's UUID or its code. */
export function ApiIdOrCodeParam(name: IdOrCodeName): MethodDecorator {
  const { in: _in, schema, ...parameter } = idOrCodeParameter(name);
  return ApiParam({ ...parameter, schema: schema as SchemaObject });
}

/** A path segment that names a part of the aggregate by the id a write returned. */
export function ApiIdParam(name: string, description: string): MethodDecorator {
  return ApiParam({
    name,
    required: true,
    description,
    schema: { type: 'string', format: 'uuid' },
  });
}

const STREAM_VERSION: HeadersObject = {
  ETag: {
    description: 'The stream’s version, e.g. `"4"`: send it as `If-Match` to write on top of it.',
    schema: { type: 'string' },
  },
};

export interface ApiJsonResponseOptions {
  /** Default 200. */
  status?: 200 | 201 | 202;
  /**
   * The route sends a version as `ETag`: `true`, the stream's; a name (`'The subscription'`),
   * the version of that resource, as a write's answer (which `If-Match` then names).
   */
  etag?: boolean | string;
  /** The route answers where the resource it created lives, as `Location`. */
  location?: boolean;
}

/** The headers `options` says a success answer carries, if any. */
function successHeaders(options: ApiJsonResponseOptions): { headers?: HeadersObject } {
  const etag =
    typeof options.etag === 'string'
      ? versionTag(options.etag)
      : options.etag
        ? STREAM_VERSION
        : undefined;
  const headers = { ...etag, ...(options.location ? LOCATION : undefined) };
  return Object.keys(headers).length > 0 ? { headers } : {};
}

/** A route's success answer: its JSON body, by component name. */
export function ApiJsonResponse(
  schema: SchemaName,
  description: string,
  options: ApiJsonResponseOptions = {},
): MethodDecorator {
  return ApiResponse({
    status: options.status ?? 200,
    description,
    ...successHeaders(options),
    content: { 'application/json': { schema: schemaRef(schema) } },
  });
}

/** A route's 204 answer: no body; `etag` as for ApiJsonResponse. */
export function ApiNoBodyResponse(
  description: string,
  options: Pick<ApiJsonResponseOptions, 'etag'> = {},
): MethodDecorator {
  return ApiResponse({ status: 204, description, ...successHeaders(options) });
}

/** The 200 answer of a route that sends a document other than JSON (CSV, iCalendar). */
export function ApiReadText(contentType: string, description: string): MethodDecorator {
  return ApiResponse({
    status: 200,
    description,
    content: { [contentType]: { schema: { type: 'string' } } },
  });
}

/** A problem a route answers with beyond those the document adds to every route like it. */
export function ApiProblemResponse(status: ProblemStatus, description?: string): MethodDecorator {
  return ApiResponse({ status, ...problemResponse(status, description) });
}
