import { DOMAIN_ERROR_KINDS, type DomainErrorKind } from '@app/domain';
import type { HeadersObject, ResponseObject } from '@nestjs/swagger';
import { PROBLEM_CONTENT_TYPE } from '../http';
import { schemaRef } from './openapi-schemas';

/** The error statuses the API answers with, each as `application/problem+json`. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 414 | 415 | 422 | 503;

const codesOf = (kind: DomainErrorKind): string[] =>
  Object.entries(DOMAIN_ERROR_KINDS)
    .filter(([, of]) => of === kind)
    .map(([code]) => code);

const list = (codes: string[]) => codes.map((code) => `\`${code}\``).join(', ');

/** What each status means here, and the `code`s it carries (the domain's, from its table). */
const DESCRIPTIONS: Record<ProblemStatus, string> = {
  400:
    'Bad request. `validation-failed` (with `errors[]`, one per offending field, unknown fields ' +
    'and query parameters included), `malformed-json`, `invalid-body-encoding` (the body is ' +
    'not UTF-8), `invalid-query-encoding` (a query parameter is not percent-encoded UTF-8, ' +
    '`%FF`; `errors[]` names it), `invalid-if-match`, ' +
    '`invalid-idempotency-key`, `min-position-beyond-head` (reads with `minPosition`: no ' +
    'event has that position yet; `head` is the log’s last), or `bad-request` (the URL is ' +
    'malformed, e.g. a broken percent-encoding).',
  401:
    '`unauthenticated`: no `Authorization: Bearer <key>`, or an unknown or revoked key ' +
    '(with a `WWW-Authenticate` challenge).',
  403: '`forbidden`: the key’s role may not do this (`requiredRole` names the role needed).',
  404: `Not found. One of ${list(codesOf('not-found'))}.`,
  409:
    'Conflict with the current state. `wrong-expected-version` (a concurrent write, without ' +
    `\`If-Match\`; \`currentVersion\`) or one of ${list(codesOf('conflict'))}.`,
  412:
    '`precondition-failed`: no ETag that `If-Match` lists names the current version, which ' +
    '`currentVersion` gives.',
  413: '`payload-too-large`: the body is larger than `limit` bytes.',
  414:
    '`uri-too-long`: a path parameter is longer than the router accepts (100 characters); ' +
    'no id or code is that long.',
  415:
    '`unsupported-media-type`: send the body as `application/json`; or ' +
    '`unsupported-content-encoding`: send it without a `Content-Encoding` (identity).',
  422:
    'The input is well-formed but breaks a rule of the trade (`errors[]` names the field when ' +
    `there is one): ${list(codesOf('invalid'))}; or \`idempotency-key-reused\` (the ` +
    '`Idempotency-Key` was used for a different request).',
  503:
    '`database-unavailable`: PostgreSQL cannot be reached or is too busy at the moment; or `not-caught-up` ' +
    '(reads with `minPosition`): the read model had not reached it within the wait. ' +
    '`Retry-After` says when to ask again.',
};

/** The headers that come with a status whatever its code. */
const HEADERS: Partial<Record<ProblemStatus, HeadersObject>> = {
  401: {
    'WWW-Authenticate': {
      description: 'The Bearer challenge (RFC 6750).',
      schema: { type: 'string' },
    },
  },
  503: {
    'Retry-After': {
      description: 'How many seconds to wait before asking again.',
      schema: { type: 'integer', minimum: 0 },
    },
  },
};

/** The response object of an error status, its body a `Problem`. */
export function problemResponse(status: ProblemStatus, description?: string): ResponseObject {
  const headers = HEADERS[status];
  return {
    description: description ?? DESCRIPTIONS[status],
    ...(headers ? { headers } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: schemaRef('Problem') } },
  };
}
