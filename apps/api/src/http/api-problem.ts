import { HttpException } from '@nestjs/common';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const PROBLEM_TYPE_BASE = 'https://accord.dev/problems/';

/** An RFC 9457 problem document; `code` is the stable, kebab-case name clients switch on. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail?: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

/** The members a problem's extensions may not overwrite. */
const RESERVED_MEMBERS = new Set(['type', 'title', 'status', 'detail', 'code', 'instance']);

/** The stable URI that names a problem code. */
export function problemType(code: string): string {
  return `${PROBLEM_TYPE_BASE}${code}`;
}

/**
 * An error a controller (or guard, or pipe) throws to answer with a specific problem:
 * `throw new ApiProblem(409, 'api-key-name-taken', 'API key name taken', detail, { name })`.
 * The global ProblemDetailsFilter writes it as `application/problem+json`.
 */
export class ApiProblem extends HttpException {
  override readonly name = 'ApiProblem';

  constructor(
    status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    /** Extension members, e.g. `{ errors: [...] }` or `{ currentVersion: 3 }`. */
    readonly extras: Record<string, unknown> = {},
    /** Response headers that belong to the problem, e.g. `WWW-Authenticate` on a 401. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title, status);
  }

  /** The body, without `instance` (the filter adds the request's path). */
  toDocument(): ProblemDocument {
    const extensions = Object.fromEntries(
      Object.entries(this.extras).filter(([member]) => !RESERVED_MEMBERS.has(member)),
    );
    return {
      type: problemType(this.code),
      title: this.title,
      status: this.getStatus(),
      ...(this.detail === undefined ? {} : { detail: this.detail }),
      code: this.code,
      ...extensions,
    };
  }
}

/** Codes (and titles) for problems named only by their status. */
const STATUS_PROBLEMS: Record<number, [code: string, title: string]> = {
  400: ['bad-request', 'Bad request'],
  401: ['unauthenticated', 'Unauthenticated'],
  403: ['forbidden', 'Forbidden'],
  404: ['not-found', 'Not found'],
  405: ['method-not-allowed', 'Method not allowed'],
  406: ['not-acceptable', 'Not acceptable'],
  408: ['request-timeout', 'Request timeout'],
  409: ['conflict', 'Conflict'],
  410: ['gone', 'Gone'],
  411: ['length-required', 'Length required'],
  412: ['precondition-failed', 'Precondition failed'],
  413: ['payload-too-large', 'Payload too large'],
  414: ['uri-too-long', 'URI too long'],
  415: ['unsupported-media-type', 'Unsupported media type'],
  417: ['expectation-failed', 'Expectation failed'],
  422: ['unprocessable-content', 'Unprocessable content'],
  428: ['precondition-required', 'Precondition required'],
  429: ['too-many-requests', 'Too many requests'],
  431: ['request-header-fields-too-large', 'Request header fields too large'],
  500: ['internal-error', 'Internal error'],
  501: ['not-implemented', 'Not implemented'],
  502: ['bad-gateway', 'Bad gateway'],
  503: ['service-unavailable', 'Service unavailable'],
  504: ['gateway-timeout', 'Gateway timeout'],
};

/** The stable code and title for a bare status (`http-<status>` for the unusual ones). */
export function statusProblem(status: number): { code: string; title: string } {
  const known = STATUS_PROBLEMS[status];
  if (known) return { code: known[0], title: known[1] };
  return { code: `http-${status}`, title: status >= 500 ? 'Server error' : 'Client error' };
}
