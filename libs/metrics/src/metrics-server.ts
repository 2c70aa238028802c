import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ReadinessReport } from './readiness';

/**
 * A bare HTTP server for processes without an HTTP app (the worker): `GET /metrics` (`/metrics/`
 * too, as the api does) and, given a readiness check, `/health/live` and `/health/ready`
 * answering as the api's do (200, or 503 with the failing checks).
 */
export async function startMetricsServer(
  registry: Registry,
  port: number,
  readiness?: () => Promise<ReadinessReport>,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0].replace(/\/+$/, '');
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(404).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: Error) => response.writeHead(500).end(error.message),
      );
    } else if (readiness && path === '/health/live') {
      json(200, { status: 'ok' });
    } else if (readiness && path === '/health/ready') {
      readiness().then(
        (report) => json(report.status === 'ok' ? 200 : 503, report),
        (error: Error) => json(503, { status: 'unavailable', error: error.message }),
      );
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return server;
}
