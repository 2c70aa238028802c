import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { startMetricsServer } from './metrics-server';

describe('startMetricsServer', () => {
  it('answers GET /metrics in the Prometheus text format, and 404 elsewhere', async () => {
    const registry = new Registry();
    new Counter({ name: 'accord_test_total', help: 'A test counter', registers: [registry] }).inc(
      3,
    );
    const server = await startMetricsServer(registry, 0);
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const response = await fetch(`${base}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await response.text()).toContain('accord_test_total 3');
      // A trailing slash names the same page, as on the api.
      expect(await (await fetch(`${base}/metrics/`)).text()).toContain('accord_test_total 3');
      expect((await fetch(`${base}/other`)).status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
