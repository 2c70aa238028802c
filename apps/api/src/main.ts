import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { describeStartupFailure, loadConfig, stopOnSignals } from '@app/config';
import { createApi } from './create-api';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApi();
  const logger = new Logger('Api');
  // The same deadline as the worker's: requests in flight may finish, but a client that never
  // finishes sending one, or a dependency that does not answer, cannot hold the process.
  stopOnSignals(app, {
    name: 'Accord API',
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logger,
    whenCutShort:
      'Requests still in flight were cut off: a write among them has either committed or is ' +
      'rolled back with its connection.',
  });
  await app.listen({ port: config.PORT, host: '0.0.0.0' });
  logger.log(`Accord API listening on port ${config.PORT}`);
}

main().catch((error: unknown) => {
  // Before Nest runs there is no logger, and Nest's would print this on stdout: say what is
  // wrong on stderr, a bad configuration or a port in use without a stack trace.
  console.error(describeStartupFailure(error));
  process.exit(1);
});
