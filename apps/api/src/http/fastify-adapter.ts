import { Logger } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyError } from 'fastify';
import { ApiProblem, PROBLEM_CONTENT_TYPE } from './api-problem';
import { answerClientError, answerExpectation } from './client-errors';
import { parseQueryString, queryEncodingProblem } from './query-string';

/**
 * A Fastify error (body parsing, content type, body size) on its way to the exception filter.
 * Nest would otherwise turn it into a bare HttpException and lose its code, which is what tells
 * malformed JSON from an empty body or a bad Content-Length (all three are 400s).
 */
export class FastifyRequestError extends Error {
  override readonly name = 'FastifyRequestError';
  constructor(readonly original: FastifyError) {
    super(original.message);
  }
}

export function isFastifyError(error: unknown): error is FastifyError {
  return (
    error instanceof Error &&
    error.name === 'FastifyError' &&
    typeof (error as FastifyError).code === 'string'
  );
}

type ErrorHandler = Parameters<FastifyAdapter['setErrorHandler']>[0];

/**
 * The parts of Fastify and of a request the not-found handler needs (Nest's copy of Fastify is
 * not the one `fastify` types here). `findRoute` runs the router's lookup on a concrete URL.
 */
interface RouterLookup {
  readonly supportedMethods: readonly string[];
  findRoute(options: { method: string; url: string }): { searchParams?: unknown } | null;
}
interface UnroutedRequest {
  method: string;
  url: string;
}
/** What a plugin that answers its router refusals itself is handed of the request. */
export interface RefusedRequest extends UnroutedRequest {
  readonly headers: Record<string, string | string[] | undefined>;
  readonly protocol: string;
  readonly host: string;
}
interface UnroutedReply {
  send(payload: unknown): unknown;
}

/**
 * The methods the router has a route for at this URL, HEAD included where Fastify exposes one
 * for a GET. The router's own lookup, so parameters, wildcards and its options (trailing slash,
 * case) count as they do for the request itself.
 */
export function allowedMethods(fastify: RouterLookup, url: string): string[] {
  return fastify.supportedMethods.filter((method) => {
    const route = fastify.findRoute({ method, url });
    // For a URL it cannot decode, or a parameter over maxParamLength, the router hands back its
    // own error answer rather than null: only a route carries the parsed query string. The
    // request's method has no route at all then (its lookup would have refused the URL).
    return route !== null && route.searchParams !== undefined;
  });
}

/**
 * A request Fastify's router refused before routing it (a URL it cannot decode, a path segment
 * over its limit), once answered. No route took it, so no hook (`onResponse`) sees it.
 * `durationSeconds` runs from the refusal, not from the request's arrival.
 */
export interface RouterRefusal {
  readonly method: string;
  readonly statusCode: number;
  readonly durationSeconds: number;
}

/**
 * How a plugin answers what the router refused under its path: `problem` is what the API would
 * answer; the plugin may answer something else first (a 401 for a request without credentials).
 */
export type RouterRefusalAnswer = (
  problem: ApiProblem,
  request: RefusedRequest,
  reply: RouterReply,
) => void;

/** Whether `url`'s path is `prefix` or lies below it. */
export function isUnder(url: string, prefix: string): boolean {
  const path = url.split('?')[0];
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Fastify parses the body before Nest's pipeline runs, so its errors reach Nest through the
 * error handler Nest installs here; this adapter hands them on as FastifyRequestError, and the
 * global ProblemDetailsFilter answers them like every other error.
 *
 * Fastify's router answers an unsupported method like an unknown path: the not-found handler
 * runs. Before Nest's 404, it asks the router which methods the path has and, if any, answers
 * 405 with `Allow` through the same error handler. Found routes never pay for the lookups.
 */
export class ProblemFastifyAdapter extends FastifyAdapter {
  private readonly refusalListeners: Array<(refusal: RouterRefusal) => void> = [];
  private readonly refusalAnswers: Array<{ prefix: string; answer: RouterRefusalAnswer }> = [];

  /** Tells `listener` of each request the router refuses, once its answer is sent. */
  onRouterRefusal(listener: (refusal: RouterRefusal) => void): void {
    this.refusalListeners.push(listener);
  }

  /**
   * Hands what the router refuses under `prefix` (a path and what lies below it) to `answer`:
   * no route took the request, so a plugin's hooks there never see it otherwise.
   */
  answerRouterRefusalsUnder(prefix: string, answer: RouterRefusalAnswer): void {
    this.refusalAnswers.push({ prefix, answer });
  }

  /** Fastify's `frameworkErrors`: answers what the router refused, as problem+json. */
  answerRouterError(error: FastifyError, request: RefusedRequest, reply: RouterReply): void {
    // From the router's refusal to the last byte sent. Fastify starts no clock for a request no
    // route took; for a routed one (`reply.elapsedTime`) it starts once it has the request,
    // after Node parsed its head, as here, and the lookup that refused this one came just before.
    const started = performance.now();
    const problem = routerProblem(error);
    reply.raw.once('finish', () => {
      const refusal: RouterRefusal = {
        method: request.method,
        // What was sent: a plugin may have answered otherwise (see answerRouterRefusalsUnder).
        statusCode: reply.raw.statusCode,
        durationSeconds: (performance.now() - started) / 1000,
      };
      for (const listener of this.refusalListeners) listener(refusal);
    });
    const owner = this.refusalAnswers.find(({ prefix }) => isUnder(request.url, prefix));
    if (owner) {
      owner.answer(problem, request, reply);
      return;
    }
    reply
      .code(problem.getStatus())
      .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
      .send({ ...problem.toDocument(), instance: request.url.split('?')[0] });
  }

  override setErrorHandler(handler: ErrorHandler) {
    return super.setErrorHandler(function (this: unknown, error, request, reply) {
      const passed = isFastifyError(error) ? new FastifyRequestError(error) : error;
      return (handler as (...args: unknown[]) => unknown).call(this, passed, request, reply);
    } as ErrorHandler);
  }

  override setNotFoundHandler(handler: (...args: unknown[]) => unknown) {
    const fastify = this.getInstance<RouterLookup>();
    return super.setNotFoundHandler(function (
      this: unknown,
      request: UnroutedRequest,
      reply: UnroutedReply,
    ) {
      const allowed = allowedMethods(fastify, request.url);
      // A route of the request's own method may send it here too (`callNotFound`: a static
      // file that is not there): that is a 404. Sent, not thrown: for a URL its own router
      // cannot decode, Fastify calls this handler outside the try that passes a throw on.
      if (allowed.length > 0 && !allowed.includes(request.method))
        return reply.send(methodNotAllowed(request.method, allowed));
      return handler.call(this, request, reply);
    });
  }
}

export function methodNotAllowed(method: string, allowed: string[]): ApiProblem {
  return new ApiProblem(
    405,
    'method-not-allowed',
    'Method not allowed',
    `${method} is not supported here; this path supports ${allowed.join(', ')}.`,
    { allowed },
    { allow: allowed.join(', ') },
  );
}

/**
 * The parts of a request and reply a router error needs (Nest bundles its own copy of Fastify,
 * whose types are not the ones `fastify` resolves to here).
 */
export interface RouterReply {
  readonly raw: {
    readonly statusCode: number;
    once(event: 'finish', listener: () => void): unknown;
  };
  code(status: number): RouterReply;
  headers(values: Record<string, string>): RouterReply;
  type(contentType: string): RouterReply;
  send(body: unknown): unknown;
}

/** The problem for an error Fastify's router raises before any route, hook or filter runs. */
function routerProblem(error: FastifyError): ApiProblem {
  switch (error.code) {
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiProblem(414, 'uri-too-long', 'URI too long', 'A path segment is too long.');
    case 'FST_ERR_BAD_URL':
      return new ApiProblem(400, 'bad-request', 'Bad request', 'The request URL is malformed.');
    default:
      // FST_ERR_ASYNC_CONSTRAINT: a route constraint failed, which is the server's fault.
      new Logger('Http').error(`The router failed: ${error.code} ${error.message}`, error.stack);
      return new ApiProblem(
        500,
        'internal-error',
        'Internal error',
        'The server failed to answer.',
      );
  }
}

/**
 * The media type of each Content-Type field of a request, lower-cased, without parameters.
 * Node keeps only the first field in `request.headers` and drops the others without a word.
 */
function declaredMediaTypes(rawHeaders: string[]): string[] {
  const types = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === 'content-type') {
      types.add(rawHeaders[i + 1].split(';')[0].trim().toLowerCase());
    }
  }
  return [...types];
}

/**
 * The content codings of a request's body, lower-cased, `identity` left out: Accord decodes
 * none (RFC 9110 §8.4), so a body sent compressed would reach the JSON parser as bytes.
 */
function contentCodings(header: string | string[] | undefined): string[] {
  return [header ?? '']
    .flat()
    .flatMap((field) => field.split(','))
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}

/** Fatal: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON is the only body Fastify parses: any other media type, or none, finds no parser, which
 * Fastify answers with FST_ERR_CTP_INVALID_MEDIA_TYPE (a 415). One case gets past that: a
 * request with two Content-Type fields, `application/json` first, reaches the JSON parser with
 * the second one unseen, so the parser refuses a request whose fields disagree. The body is
 * read as bytes (its length checked against Content-Length and the limit as they arrived) and
 * decoded here, refusing what is not UTF-8 (RFC 8259 §8.1) rather than storing U+FFFD in its
 * place; a body with a Content-Encoding other than identity is refused (415), not parsed.
 */
function acceptJsonBodiesOnly(adapter: FastifyAdapter): void {
  const fastify = adapter.getInstance();
  const parseJson = fastify.getDefaultJsonParser(
    fastify.initialConfig.onProtoPoisoning ?? 'error',
    fastify.initialConfig.onConstructorPoisoning ?? 'error',
  );
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const declared = declaredMediaTypes(request.raw.rawHeaders);
    if (declared.length > 1) {
      done(
        new ApiProblem(
          415,
          'unsupported-media-type',
          'Unsupported media type',
          'The Content-Type fields of the request disagree: send one, application/json.',
        ),
        undefined,
      );
      return;
    }
    const codings = contentCodings(request.headers['content-encoding']);
    if (codings.length > 0) {
      done(
        new ApiProblem(
          415,
          'unsupported-content-encoding',
          'Unsupported content encoding',
          `The body is sent with Content-Encoding ${codings.join(', ')}: send it as it is, without one (identity).`,
          {},
          { 'accept-encoding': 'identity' },
        ),
        undefined,
      );
      return;
    }
    let text: string;
    try {
      text = UTF8.decode(body as Buffer); // parseAs 'buffer'; a leading BOM is dropped
    } catch {
      done(
        new ApiProblem(
          400,
          'invalid-body-encoding',
          'Invalid body encoding',
          'The request body is not valid UTF-8: JSON must be sent UTF-8 encoded.',
        ),
        undefined,
      );
      return;
    }
    // No body at all, declared as JSON (clients that always send the header): no body, as
    // without the header. A route that needs one says so (400 validation-failed).
    if (text === '') {
      done(null, undefined);
      return;
    }
    return parseJson(request, text, done);
  });
}

/**
 * `/metrics/` is `/metrics` and `/api/v1/measures/` is `/api/v1/measures`, before the router
 * sees them: left as it is, the slash made an empty `:measure`, so `POST /api/v1/measures/`
 * matched only the GET of one measure and answered 405, and `/metrics/` or `/health/ready/`
 * matched nothing. Not under `keptUnder` (a path and what lies below it): there a plugin owns
 * the URLs and a slash may mean something (`/api/docs/` redirects to the page its relative
 * links need, `/api/docs`).
 */
export function withoutTrailingSlash(url: string, keptUnder: readonly string[] = []): string {
  const queryAt = url.indexOf('?');
  const path = queryAt === -1 ? url : url.slice(0, queryAt);
  if (!path.endsWith('/')) return url;
  const trimmed = path.replace(/\/+$/, '');
  // `/` itself (or `//`) names the root, which has no other spelling.
  if (trimmed === '') return url;
  if (keptUnder.some((prefix) => trimmed === prefix || trimmed.startsWith(`${prefix}/`)))
    return url;
  return trimmed + url.slice(path.length);
}

export interface FastifyAdapterOptions {
  bodyLimit: number;
  /**
   * How long a client may take to send a whole request, head and body (408 after): without it a
   * client trickling a body a byte at a time holds its connection for as long as it likes.
   */
  requestTimeoutMs: number;
  /** Paths under which a trailing slash is left as it is (see withoutTrailingSlash). */
  trailingSlashKeptUnder?: readonly string[];
}

/**
 * The Fastify adapter of the API: JSON bodies only (anything else is a 415), at most
 * `bodyLimit` bytes (413 beyond), a trailing slash ignored but under `trailingSlashKeptUnder`,
 * and problem+json also for what is refused before Nest sees the request: by Fastify's router
 * (frameworkErrors, told to onRouterRefusal's listeners), by Node's HTTP parser
 * (clientErrorHandler: a malformed request line, headers over Node's limit, a timeout) or by
 * Node's server (an `Expect` other than 100-continue: 417). A query string that is not
 * percent-encoded UTF-8 is a 400 on every route (see parseQueryString).
 */
export function createFastifyAdapter(options: FastifyAdapterOptions): ProblemFastifyAdapter {
  const keptUnder = options.trailingSlashKeptUnder ?? [];
  const adapter: ProblemFastifyAdapter = new ProblemFastifyAdapter({
    bodyLimit: options.bodyLimit,
    requestTimeout: options.requestTimeoutMs,
    rewriteUrl: (request: { url?: string }) => withoutTrailingSlash(request.url ?? '/', keptUnder),
    routerOptions: { querystringParser: parseQueryString },
    clientErrorHandler: answerClientError,
    frameworkErrors: (error: FastifyError, request: RefusedRequest, reply: unknown) =>
      adapter.answerRouterError(error, request, reply as RouterReply),
  });
  acceptJsonBodiesOnly(adapter);
  // On the root before any route or plugin exists, so that every one of them inherits it.
  adapter
    .getInstance()
    .addHook('preValidation', (request, _reply, done) => done(queryEncodingProblem(request.query)));
  const server = adapter.getInstance().server;
  // Fastify sets the whole request's limit but leaves the head's at Node's 60 s: the same for
  // both. (Node looks for overdue requests every 30 s, so one is cut within a minute or so.)
  server.headersTimeout = options.requestTimeoutMs;
  server.on('checkExpectation', answerExpectation);
  return adapter;
}
