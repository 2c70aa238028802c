import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, nestLogger } from '@app/config';
import { METRICS_REGISTRY } from '@app/metrics';
import type { Registry } from 'prom-client';
import { ApiModule } from './api.module';
import { createFastifyAdapter } from './http';
import { installRequestMetrics } from './metrics/request-metrics';
import { DOCS_PATH, installOpenApi } from './openapi';
import {
  installQueueDashboard,
  QUEUE_DASHBOARD_PATH,
} from './queues-dashboard/install-queue-dashboard';

/**
 * Builds the HTTP app; main.ts listens and stops it on signals, tests use it directly. A test
 * may pass a module that imports ApiModule and adds routes of its own.
 */
export async function createApi(
  rootModule: Type<unknown> = ApiModule,
): Promise<NestFastifyApplication> {
  const config = loadConfig();
  const adapter = createFastifyAdapter({
    bodyLimit: 256 * 1024,
    // 256 KiB arrive in well under a second even on a slow link; the rest is a client stalling.
    requestTimeoutMs: 30_000,
    // A trailing slash is dropped on the server's own routes; these plugins own their URLs.
    trailingSlashKeptUnder: [DOCS_PATH, QUEUE_DASHBOARD_PATH],
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule,
    adapter,
    // The adapter's JSON parser is the only body parser (every other media type is a 415):
    // Nest's would add urlencoded ones.
    {
      logger: nestLogger(config.LOG_LEVEL),
      bufferLogs: false,
      bodyParser: false,
      // A failure to start reaches the caller (main says it on stderr) instead of Nest exiting.
      abortOnError: false,
    },
  );
  // Before any other route or plugin is added, so that every request is timed.
  installRequestMetrics(adapter, app.get<Registry>(METRICS_REGISTRY));
  installOpenApi(app);
  await installQueueDashboard(app, adapter);
  return app;
}
