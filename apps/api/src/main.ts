import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { describeStartupFailure, loadConfig } from '@app/config';
import { createApi } from './create-api';

async function main(): Promise<void> {
  const config = loadConfig();
  const app = await createApi();
  await app.listen({ port: config.PORT, host: '0.0.0.0' });
  new Logger('Api').log(`Accord API listening on port ${config.PORT}`);
}

main().catch((error: unknown) => {
  // Before Nest runs there is no logger, and Nest's would print this on stdout: say what is
  // wrong on stderr, a bad configuration or a port in use without a stack trace.
  console.error(describeStartupFailure(error));
  process.exit(1);
});
