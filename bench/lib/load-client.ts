/**
 * The HTTP load generator, run in a process of its own (see http-load.ts) so that it does not
 * share an event loop with the server it measures. It answers each `LoadRequest` message with
 * a `LoadResult`: autocannon's counts and every 2xx latency as measured by autocannon (float
 * milliseconds; its own summary rounds them to whole milliseconds).
 */
import autocannon from 'autocannon';
import type { LoadRequest, LoadResult } from './http-load';

function run(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    const instance = autocannon(
      {
        url: request.url,
        method: 'POST',
        connections: request.connections,
        pipelining: 1,
        duration: request.seconds,
        headers: { 'content-type': 'application/json', ...request.headers },
        body: request.body,
        idReplacement: true,
        timeout: 30,
      },
      (error, result) => {
        if (error) return reject(error);
        resolve({
          ok: latenciesMs.length,
          elapsedMs: result.duration * 1000,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          statusCodes: Object.fromEntries(
            Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
          ),
          latenciesMs,
        });
      },
    );
    instance.on('response', (_client, statusCode, _bytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) latenciesMs.push(ms);
    });
  });
}

process.on('message', (request: LoadRequest) => {
  run(request).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
