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
import { ApiProblem, clientWentAway, PROBLEM_CONTENT_TYPE, toProblem } from '../http';

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
 * While Redis is unreachable it answers 503 `redis-unavailable` (after the key check) instead of
 * waiting: its queues have a connection of their own that queues no command while disconnected,
 * fails the ones in flight when the connection drops and gives up on one Redis does not answer.
 * That connection reconnects by itself, and the dashboard works again as soon as it has.
 */
export async function installQueueDashboard(app: NestFastifyApplication): Promise<void> {
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

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onClose', async () => {
    await Promise.all(queues.map((queue) => queue.close()));
    // Not quit(): that would wait for Redis while it is away; nothing is pending worth saving.
    redis.disconnect();
  });
  await fastify.register(
    async (scope) => {
      scope.addHook('onRequest', async (request, reply) => {
        // Never inside another site's frame: the Basic credentials a browser holds go with the
        // frame's requests, and a click there would be a same-origin change (clickjacking).
        reply.header('x-frame-options', 'DENY');
        reply.header('content-security-policy', "frame-ancestors 'none'");
        const credentials = dashboardCredentialsOf(request.headers.authorization);
        const principal = credentials.key ? await apiKeys.authenticate(credentials.key) : null;
        const problem = !principal
          ? new ApiProblem(
              401,
              'unauthenticated',
              'Unauthenticated',
              'An admin API key is required: as a Bearer token, or as the password of HTTP Basic ' +
                'authentication (any user name) in a browser.',
            )
          : !roleGrants(principal.role, 'admin')
            ? new ApiProblem(403, 'forbidden', 'Forbidden', 'The queue dashboard is for admins.')
            : credentials.scheme === 'basic' && isCrossSite(request)
              ? new ApiProblem(
                  403,
                  'forbidden',
                  'Forbidden',
                  'A change to the queues from another site is refused: a browser sends Basic ' +
                    'credentials with any request to this address, a forged one included.',
                )
              : redis.status !== 'ready'
                ? redisUnavailable()
                : null;
        if (problem) return sendProblem(request, reply, problem, credentials.scheme);
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
 * The challenge of a 401. Without credentials, or with Basic ones that failed, Basic: a browser
 * then asks for a user name and password (the admin key), and sends them with every request
 * under the path, its assets and API calls included. A Bearer token that failed is answered
 * with the Bearer challenge, as the API answers it.
 */
const BASIC_CHALLENGE = 'Basic realm="Accord queues", charset="UTF-8"';

function sendProblem(
  request: { url: string },
  reply: ProblemReply,
  problem: ApiProblem,
  scheme?: DashboardCredentials['scheme'],
): unknown {
  if (problem.getStatus() === 401)
    reply.headers({ 'www-authenticate': scheme === 'bearer' ? 'Bearer' : BASIC_CHALLENGE });
  return reply
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
 * then name this host. A request with neither (curl, a script) is no browser's.
 */
function isCrossSite(request: {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}): boolean {
  if (['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return false;
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site !== 'same-origin' && site !== 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}
