/**
 * The GET load generator, run in a process of its own (see http-get-load.ts) so that it does
 * not share an event loop with the server it measures. Each request takes the next path of the
 * list, round robin over all connections. It answers each `GetLoadRequest` message with a
 * `LoadResult`: autocannon's counts, every 2xx latency (float milliseconds) and the bytes read.
 */
import autocannon from 'autocannon';
import type { LoadResult } from './http-load';
import type { GetLoadRequest } from './http-get-load';

function run(request: GetLoadRequest): Promise<LoadResult & { bytes: number }> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    let next = 0;
    let bytes = 0;
    const instance = autocannon(
      {
        url: request.origin,
        connections: request.connections,
        pipelining: 1,
        duration: request.seconds,
        headers: request.headers,
        timeout: 30,
        requests: [
          {
            method: 'GET',
            setupRequest: (data) => ({
              ...data,
              path: request.paths[next++ % request.paths.length],
            }),
          },
        ],
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
          bytes,
        });
      },
    );
    instance.on('response', (_client, statusCode, responseBytes, ms) => {
      if (statusCode >= 200 && statusCode < 300) {
        latenciesMs.push(ms);
        bytes += responseBytes;
      }
    });
  });
}

process.on('message', (request: GetLoadRequest) => {
  run(request).then(
    (result) => process.send?.({ result }),
    (error: unknown) => process.send?.({ error: String(error) }),
  );
});
