import type { Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, nestLogger } from '@app/config';
import { METRICS_REGISTRY } from '@app/metrics';
import type { Registry } from 'prom-client';
import { ApiModule } from './api.module';
import { createFastifyAdapter } from './http';
import { installRequestMetrics } from './metrics/request-metrics';
import { installOpenApi } from './openapi';
import { installQueueDashboard } from './queues-dashboard/install-queue-dashboard';

/**
 * Builds the HTTP app; main.ts listens and stops it on signals, tests use it directly. A test
 * may pass a module that imports ApiModule and adds routes of its own.
 */
export async function createApi(
  rootModule: Type<unknown> = ApiModule,
): Promise<NestFastifyApplication> {
  const config = loadConfig();
  const app = await NestFactory.create<NestFastifyApplication>(
    rootModule,
    createFastifyAdapter({ bodyLimit: 256 * 1024 }),
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
  installRequestMetrics(app.getHttpAdapter().getInstance(), app.get<Registry>(METRICS_REGISTRY));
  installOpenApi(app);
  await installQueueDashboard(app);
  return app;
}
