import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig, nestLogLevels } from '@app/config';
import { ApiModule } from './api.module';

/** Builds the HTTP app; main.ts listens, tests use it directly. */
export async function createApi(): Promise<NestFastifyApplication> {
  const config = loadConfig();
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule,
    new FastifyAdapter({ bodyLimit: 256 * 1024 }),
    { logger: nestLogLevels(config.LOG_LEVEL), bufferLogs: false },
  );
  app.enableShutdownHooks();
  return app;
}
