import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ApiKeysService, roleGrants } from '@app/api-keys';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { ALERTS_QUEUE, bullOptions } from '@app/queues';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  allowedMethods,
  ApiProblem,
  clientWentAway,
  methodNotAllowed,
  PROBLEM_CONTENT_TYPE,
  type ProblemFastifyAdapter,
  publicBaseUrl,
  type RefusedRequest,
  toProblem,
} from '../http';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/** How long the dashboard waits for Redis to answer one command before it says Redis is away. */
const COMMAND_TIMEOUT_MS = 5000;
/** What ioredis rejects a command with once `commandTimeout` has passed (it has no error class). */
const COMMAND_TIMED_OUT = 'Command timed out';

/**
 * The BullMQ dashboard at `/admin/queues`, for admins only (`Authorization: Bearer <admin key>`,
 * or, for a browser, HTTP Basic with the admin key as the password and any user name; checked
 * on every request, the page's own assets and API calls included). It is a Fastify plugin
 * outside Nest's router, so it gets its own check instead of the global guard; Basic is taken
 * here only, nowhere else in the API. A request without credentials is challenged with Basic,
 * so that a browser asks for them; a change asked with Basic credentials from another site is
 * refused (see isCrossSite).
 *
 * Every answer under the path is the dashboard's own, with its framing headers and its Content
 * Security Policy, and after the key check: a path it does not have (404), a method a path lacks
 * (405, with `Allow`) and a URL the router cannot decode (400) included. Left to the app-wide
 * handlers, a request without credentials learnt which methods a path takes, and the answer
 * could be framed.
 *
 * While Redis is unreachable it answers 503 `redis-unavailable` (after the key check) instead of
 * waiting: its queues have a connection of their own that queues no command while disconnected,
 * fails the ones in flight when the connection drops and gives up on one Redis does not answer.
 * That connection reconnects by itself, and the dashboard works again as soon as it has.
 */
export async function installQueueDashboard(
  app: NestFastifyApplication,
  adapter: ProblemFastifyAdapter,
): Promise<void> {
  const config = app.get<AccordConfig>(ACCORD_CONFIG);
  const apiKeys = app.get(ApiKeysService);
  const logger = new Logger('QueueDashboard');
  const redis = dashboardConnection(config.REDIS_URL, logger);
  // Webhook deliveries have no queue (the worker claims them from PostgreSQL): see their log.
  // The dashboard only shows the queue: by default a BullMQ Queue writes its `meta` hash as soon
  // as it connects, so every api process, tests' and benchmarks' included, would leave a key in
  // Redis under its prefix. The worker's queue and the producers' write it when they run.
  // The worker checks the Redis version; here that check would be one more command that, failing
  // while Redis is away, would leave the queue broken for good (BullMQ runs it once).
  const queues = [ALERTS_QUEUE].map(
    (name) =>
      new Queue(name, {
        connection: redis,
        prefix: bullOptions(config).prefix,
        skipMetasUpdate: true,
        skipVersionCheck: true,
      }),
  );
  for (const queue of queues) {
    // The connection's own listener reports the outage; a queue repeats each of its errors.
    queue.on('error', () => undefined);
  }
  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: queues.map((queue) => new BullMQAdapter(queue)), serverAdapter });

  /**
   * Why the request may not reach the dashboard, or null when it may. Credentials come first,
   * so that nothing else is said to a request without an admin's key.
   */
  async function refusalOf(request: RefusedRequest): Promise<ApiProblem | null> {
    const credentials = dashboardCredentialsOf(header(request.headers.authorization));
    const principal = credentials.key ? await apiKeys.authenticate(credentials.key) : null;
    if (!principal) return unauthenticated(credentials.scheme);
    if (!roleGrants(principal.role, 'admin'))
      return new ApiProblem(403, 'forbidden', 'Forbidden', 'The queue dashboard is for admins.');
    if (credentials.scheme === 'basic' && isCrossSite(request, config.PUBLIC_BASE_URL))
      return new ApiProblem(
        403,
        'forbidden',
        'Forbidden',
        'A change to the queues from another site is refused: a browser sends Basic ' +
          'credentials with any request to this address, a forged one included.',
      );
    return null;
  }

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onClose', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    // Not quit(): that would wait for Redis while it is away; nothing is pending worth saving.
    redis.disconnect();
  });
  // A URL the router cannot decode reaches no route, and so none of the hooks below.
  adapter.answerRouterRefusalsUnder(QUEUE_DASHBOARD_PATH, (problem, request, reply) => {
    refusalOf(request)
      .catch((error: unknown) => {
        const failed = toProblem(error, { ifMatch: false });
        if (failed.getStatus() >= 500)
          logger.warn(
            `${request.method} ${request.url.split('?')[0]}: the key check failed: ${String(error)}`,
          );
        return failed;
      })
      .then((refusal) => sendProblem(request, reply, refusal ?? problem))
      .catch((error: unknown) => logger.error(`Answering a refused URL failed: ${String(error)}`));
  });
  await fastify.register(
    async (scope) => {
      // Also run for the not-found handler below: every request under the path is checked.
      scope.addHook('onRequest', async (request, reply) => {
        withPageHeaders(reply);
        const problem =
          (await refusalOf(request)) ?? (redis.status !== 'ready' ? redisUnavailable() : null);
        if (problem) return sendProblem(request, reply, problem);
      });
      // What no route here takes, and a static file that is not there, once the key is checked.
      scope.setNotFoundHandler((request, reply) => {
        const allowed = allowedMethods(fastify, request.url);
        const problem =
          allowed.length > 0 && !allowed.includes(request.method)
            ? methodNotAllowed(request.method, allowed)
            : new ApiProblem(
                404,
                'not-found',
                'Not found',
                'The queue dashboard has no such page.',
              );
        return sendProblem(request, reply, problem);
      });
      // Redis can go while a request is under way: the dashboard's routes answer that as above
      // rather than with bull-board's own error body (a 500 naming the ioredis error).
      scope.addHook('onRoute', (route) => {
        route.errorHandler = (error, request, reply) => {
          const path = request.url.split('?')[0];
          if (clientWentAway(error, request)) {
            logger.debug(`${request.method} ${path}: the client went away`);
            return;
          }
          const unreachable = redis.status !== 'ready' || error.message === COMMAND_TIMED_OUT;
          const problem = unreachable
            ? redisUnavailable()
            : toProblem(error, { ifMatch: false, bodyLimit: request.routeOptions.bodyLimit });
          if (problem.getStatus() >= 500 && !unreachable) {
            logger.error(`${request.method} ${path} failed: ${error.message}`, error.stack);
          }
          return sendProblem(request, reply, problem);
        };
      });
      // The page itself: nothing on it may send the admin's browser to another host.
      scope.addHook('onSend', async (_request, reply, payload) =>
        typeof payload === 'string' && /^text\/html/i.test(String(reply.getHeader('content-type')))
          ? withoutOtherHostsLinks(payload)
          : payload,
      );
      await scope.register(serverAdapter.registerPlugin() as never);
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}

/**
 * The dashboard's connection. BullMQ's default (`maxRetriesPerRequest: null` with the offline
 * queue) makes every command wait for Redis however long it is away, which left requests
 * unanswered; a Queue takes these options, only a Worker's blocking connection may not.
 */
function dashboardConnection(url: string, logger: Logger): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) logger.warn(`Redis unreachable, the dashboard answers 503: ${error.message}`);
    down = true;
  });
  redis.on('ready', () => {
    if (down) logger.log('Redis reachable again');
    down = false;
  });
  return redis;
}

/** A `<link>` whose `href` is on another host: absolute (`https://…`) or scheme-relative. */
const OTHER_HOST_LINK = /<link\b[^>]*\bhref\s*=\s*["']?(?:[a-z][a-z0-9+.-]*:)?\/\/[^>]*>\s*/gi;

/**
 * bull-board's page links a stylesheet on another host (web fonts from Google's font service):
 * every time an admin opened the dashboard, the browser told that host so, and where the
 * browser cannot reach it (an internal network, CI) the request failed with an error in the
 * console on every load. The page's own styles and scripts are relative URLs under the path;
 * a link to another host is dropped, and the page is drawn in the system's fonts.
 */
function withoutOtherHostsLinks(html: string): string {
  return html.replace(OTHER_HOST_LINK, '');
}

function redisUnavailable(): ApiProblem {
  return new ApiProblem(
    503,
    'redis-unavailable',
    'Redis unavailable',
    'The queues live in Redis, which does not answer; the dashboard is back as soon as it does.',
    {},
    { 'retry-after': '5' },
  );
}

/** The parts of a Fastify reply a problem needs (Nest's copy of Fastify types its own). */
interface ProblemReply {
  code(status: number): ProblemReply;
  headers(values: Record<string, string>): ProblemReply;
  type(contentType: string): ProblemReply;
  send(body: unknown): unknown;
}

/**
 * The Content Security Policy of every answer under the path. The page shows job data and
 * errors read from Redis to an admin whose browser holds the admin key: should a string there
 * ever reach the DOM as markup, it may run nothing, load nothing from elsewhere, send nothing
 * elsewhere and post no form elsewhere. What bull-board needs, and no more:
 * - scripts: its bundles and their lazily loaded chunks, all under `static/js/`. The one inline
 *   `<script>` of its page holds JSON (`type="application/json"`), which the browser never runs,
 *   so no inline script is allowed, nor `eval`. `'self'` and not the dashboard's path: a source
 *   with a path must name the host, and behind a proxy that rewrites `Host` the one the request
 *   carries is not the one the browser sees, which would leave the page without its scripts.
 * - styles: its stylesheets, and inline ones (`style` attributes and a `<style>` in its page,
 *   and those its scripts add), hence `'unsafe-inline'`, for styles only;
 * - `base-uri 'self'`: its page has a `<base href>` under the path, which its relative URLs
 *   need; `'none'` would refuse it and every asset would miss.
 * Refusals are answered with the same policy: a problem opened in a tab runs nothing either.
 */
const QUEUE_DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The policy above, and never inside another site's frame: the Basic credentials a browser
 * holds go with the frame's requests, and a click there would be a same-origin change
 * (clickjacking). Refusals too: a
 * challenge framed elsewhere would ask for the key there. `X-Frame-Options` for browsers that
 * predate `frame-ancestors`.
 */
function withPageHeaders<Reply extends ProblemReply>(reply: Reply): Reply {
  reply.headers({
    'x-frame-options': 'DENY',
    'content-security-policy': QUEUE_DASHBOARD_CSP,
  });
  return reply;
}

/**
 * The challenge of a 401. Without credentials, or with Basic ones that failed, Basic: a browser
 * then asks for a user name and password (the admin key), and sends them with every request
 * under the path, its assets and API calls included. A Bearer token that failed is answered
 * with the Bearer challenge, as the API answers it.
 */
const BASIC_CHALLENGE = 'Basic realm="Accord queues", charset="UTF-8"';

function unauthenticated(scheme: DashboardCredentials['scheme']): ApiProblem {
  return new ApiProblem(
    401,
    'unauthenticated',
    'Unauthenticated',
    'An admin API key is required: as a Bearer token, or as the password of HTTP Basic ' +
      'authentication (any user name) in a browser.',
    {},
    { 'www-authenticate': scheme === 'bearer' ? 'Bearer' : BASIC_CHALLENGE },
  );
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function sendProblem(request: { url: string }, reply: ProblemReply, problem: ApiProblem): unknown {
  return withPageHeaders(reply)
    .code(problem.getStatus())
    .headers(problem.headers)
    .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send({ ...problem.toDocument(), instance: request.url.split('?')[0] });
}

interface DashboardCredentials {
  scheme?: 'bearer' | 'basic';
  /** The API key presented: the Bearer token, or the Basic password. */
  key?: string;
}

/**
 * The API key an `Authorization` header presents to the dashboard: `Bearer <key>`, as everywhere
 * in the API, or — the dashboard only, since a browser cannot add a Bearer header to the page's
 * own asset and API requests — `Basic base64(<any user name>:<key>)` (RFC 7617, UTF-8).
 */
export function dashboardCredentialsOf(header: string | undefined): DashboardCredentials {
  const bearer = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
  if (bearer) return { scheme: 'bearer', key: bearer };
  const basic = /^Basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header ?? '')?.[1];
  if (basic === undefined) return {};
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const key = colon < 0 ? '' : decoded.slice(colon + 1);
  return { scheme: 'basic', key: key || undefined };
}

/**
 * Whether a request that can change the queues (any method but GET, HEAD and OPTIONS) comes from
 * another site. A browser sends Basic credentials it holds with every request to this address,
 * one a page elsewhere forges included (CSRF), which it never does with a Bearer token; it also
 * says where the request comes from: `Sec-Fetch-Site` (modern browsers), else `Origin`, which must
 * then be this server's own: scheme, host and port, as `PUBLIC_BASE_URL` has them when it is set
 * (behind a TLS proxy the request reaches the server as http, its page was https), else as the
 * request arrived. A request with neither header (curl, a script) is no browser's.
 */
function isCrossSite(request: RefusedRequest, publicBase: string | undefined): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return false;
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    // `null` (a sandboxed frame, a redirect from elsewhere) is no URL: another site's.
    return new URL(origin).origin !== new URL(publicBaseUrl(request, publicBase)).origin;
  } catch {
    return true;
  }
}
