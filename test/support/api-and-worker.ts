import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  createTestDatabase,
  deleteRedisPrefix,
  testRedisPrefix,
  type TestDatabase,
} from '@app/testing';
import request from 'supertest';
import { createApi } from '../../apps/api/src/create-api';
import { WorkerModule } from '../../apps/worker/src/worker.module';

export interface ApiAndWorker {
  db: TestDatabase;
  api: NestFastifyApplication;
  worker: INestApplicationContext;
  http(): ReturnType<typeof request>;
  close(): Promise<void>;
}

/**
 * The real api and worker in this process, on a database and a Redis prefix of their own, with
 * `env` for the rest of the configuration (read from process.env, as the apps read it).
 */
export async function startApiAndWorker(
  label: string,
  env: Record<string, string>,
): Promise<ApiAndWorker> {
  const db = await createTestDatabase(label);
  const prefix = testRedisPrefix(label);
  Object.assign(process.env, { DATABASE_URL: db.url, REDIS_PREFIX: prefix, ...env });
  const api = await createApi();
  await api.init();
  await api.getHttpAdapter().getInstance().ready();
  const worker = await NestFactory.createApplicationContext(WorkerModule, { logger: ['fatal'] });
  await worker.init();
  return {
    db,
    api,
    worker,
    http: () => request(api.getHttpServer()),
    async close() {
      await worker.close();
      await api.close();
      await deleteRedisPrefix(prefix);
      await db.drop();
    },
  };
}
