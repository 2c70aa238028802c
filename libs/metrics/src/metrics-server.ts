import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * A bare HTTP server answering `GET /metrics` (`/metrics/` too, as the api does) for processes
 * without an HTTP app (the worker).
 */
export async function startMetricsServer(registry: Registry, port: number): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0].replace(/\/+$/, '');
    if ((request.method !== 'GET' && request.method !== 'HEAD') || path !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
