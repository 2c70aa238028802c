/**
 * The GET load generator, run in a process of its own (see http-get-load.ts) so that it does
 * not share an event loop with the server it measures. Each request takes the next path of the
 * list, round robin over all connections. It answers each `GetLoadRequest` message with a
 * `LoadResult`: autocannon's counts, every 2xx latency (float milliseconds) and the bytes read.
 * With several origins, one autocannon instance per origin runs at the same time, with its
 * share of the connections, and their results are added up.
 */
import autocannon from 'autocannon';
import type { LoadResult } from './http-load';
import type { GetLoadRequest } from './http-get-load';

type GetResult = LoadResult & { bytes: number };

async function run(request: GetLoadRequest): Promise<GetResult> {
  let next = 0;
  const nextPath = () => request.paths[next++ % request.paths.length];
  const { origins, connections } = request;
  const results = await Promise.all(
    origins.map((origin, i) =>
      runOne(
        origin,
        // Shared out evenly: 32 over 2 origins is 16 each.
        Math.floor(connections / origins.length) + (i < connections % origins.length ? 1 : 0),
        request,
        nextPath,
      ),
    ),
  );
  const statusCodes: Record<string, number> = {};
  for (const result of results) {
    for (const [code, count] of Object.entries(result.statusCodes)) {
      statusCodes[code] = (statusCodes[code] ?? 0) + count;
    }
  }
  const sum = (pick: (result: GetResult) => number) =>
    results.reduce((total, result) => total + pick(result), 0);
  return {
    ok: sum((result) => result.ok),
    elapsedMs: Math.max(...results.map((result) => result.elapsedMs)),
    non2xx: sum((result) => result.non2xx),
    errors: sum((result) => result.errors),
    timeouts: sum((result) => result.timeouts),
    statusCodes,
    latenciesMs: results.flatMap((result) => result.latenciesMs),
    bytes: sum((result) => result.bytes),
  };
}

function runOne(
  origin: string,
  connections: number,
  request: GetLoadRequest,
  nextPath: () => string,
): Promise<GetResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    let bytes = 0;
    const instance = autocannon(
      {
        url: origin,
        connections,
        pipelining: 1,
        duration: request.seconds,
        headers: request.headers,
        timeout: 30,
        requests: [
          {
            method: 'GET',
            setupRequest: (data) => ({ ...data, path: nextPath() }),
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
