import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describeStartupFailure, loadConfig, nestLogger, stopOnSignals } from '@app/config';
import { probeRedis } from '@app/redis';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  // Before any queue connects: ioredis would carry on in database 0 if Redis refused REDIS_URL's.
  await probeRedis(config.REDIS_URL, 2000);
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: nestLogger(config.LOG_LEVEL),
    // A failure to start reaches the catch below instead of Nest exiting on its own.
    abortOnError: false,
  });
  const logger = new Logger('Worker');
  // Exiting past the deadline loses nothing: nothing the worker holds lives only in its memory.
  stopOnSignals(app, {
    name: 'Accord worker',
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logger,
    whenCutShort:
      'What was in hand is taken up again from PostgreSQL (webhook attempts when their leases ' +
      'run out, alert jobs when their locks expire or the reconciler re-creates them).',
  });
  logger.log('Accord worker running');
}

main().catch((error: unknown) => {
  // Before Nest runs there is no logger, and Nest's would print this on stdout: say what is
  // wrong on stderr, a bad configuration or a port in use without a stack trace.
  console.error(describeStartupFailure(error));
  process.exit(1);
});
