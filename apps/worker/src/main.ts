import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describeStartupFailure, loadConfig, nestLogLevels } from '@app/config';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(WorkerModule, {
    logger: nestLogLevels(config.LOG_LEVEL),
    // A failure to start reaches the catch below instead of Nest exiting on its own.
    abortOnError: false,
  });
  app.enableShutdownHooks();
  new Logger('Worker').log('Accord worker running');
}

main().catch((error: unknown) => {
  // Before Nest runs there is no logger, and Nest's would print this on stdout: say what is
  // wrong on stderr, a bad configuration or a port in use without a stack trace.
  console.error(describeStartupFailure(error));
  process.exit(1);
});
