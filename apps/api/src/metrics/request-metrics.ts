import { Histogram, type Registry } from 'prom-client';

export const REQUEST_DURATION_METRIC = 'accord_http_request_duration_seconds';
/**
 * The route label of a request no route matched (unknown paths, 405s, router errors): one
 * series for all of them, since the URL itself is not a label anyone may see.
 */
export const UNMATCHED_ROUTE = 'unmatched';

type RequestLabels = 'method' | 'route' | 'status_code';

/**
 * The parts of Fastify the hook needs (Nest bundles its own copy of Fastify, whose types are not
 * the ones `fastify` resolves to here).
 */
interface HookHost {
  addHook(
    name: 'onResponse',
    hook: (
      request: { method: string; routeOptions: { url?: string } },
      reply: { statusCode: number; elapsedTime: number },
      done: () => void,
    ) => void,
  ): unknown;
}

/**
 * The server's adapter: its Fastify instance, and the requests its router refuses before any
 * route (and so any hook) runs, which it reports itself (see ProblemFastifyAdapter).
 */
interface MeteredAdapter {
  getInstance(): HookHost;
  onRouterRefusal(
    listener: (refusal: { method: string; statusCode: number; durationSeconds: number }) => void,
  ): void;
}

/**
 * Times every request the server answers, labelled by the route's pattern
 * (`/api/v1/measures/:measure`), never its URL: an id or a code would make a series per
 * resource, and a query can carry a credential (the calendar feed's token). What the router
 * refuses (a malformed URL's 400, a 414) counts as unmatched, like an unknown path's 404.
 */
export function installRequestMetrics(adapter: MeteredAdapter, registry: Registry): void {
  const duration = requestDuration(registry);
  adapter.onRouterRefusal((refusal) => {
    duration.observe(
      { method: refusal.method, route: UNMATCHED_ROUTE, status_code: String(refusal.statusCode) },
      refusal.durationSeconds,
    );
  });
  adapter.getInstance().addHook('onResponse', (request, reply, done) => {
    duration.observe(
      {
        method: request.method,
        route: request.routeOptions.url ?? UNMATCHED_ROUTE,
        status_code: String(reply.statusCode),
      },
      reply.elapsedTime / 1000,
    );
    done();
  });
}

/** One histogram per registry: tests start several apps in one process. */
function requestDuration(registry: Registry): Histogram<RequestLabels> {
  const existing = registry.getSingleMetric(REQUEST_DURATION_METRIC);
  if (existing) return existing as Histogram<RequestLabels>;
  return new Histogram({
    name: REQUEST_DURATION_METRIC,
    help: 'Time from a request arriving to its response being sent, by method, route pattern and status',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
}
