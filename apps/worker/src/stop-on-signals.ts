import type { INestApplicationContext, LoggerService } from '@nestjs/common';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Stops the app on SIGTERM or SIGINT and exits, within `timeoutMs` whatever hangs. Nest's own
 * shutdown hooks would wait for ever on a hook that waits for an unreachable Redis or
 * PostgreSQL; past the deadline the process exits anyway, since nothing the worker holds lives
 * only in its memory: webhook attempts are claimed again once their leases run out, alert jobs
 * once their locks expire, and the reconciler re-creates jobs from PostgreSQL. A second signal
 * while stopping changes nothing (`npm start` and a terminal's Ctrl-C may both send one).
 */
export function stopOnSignals(
  app: INestApplicationContext,
  options: { name: string; timeoutMs: number; logger: LoggerService },
): void {
  const { name, timeoutMs, logger } = options;
  const seconds = timeoutMs / 1000;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.log(`${signal}: already stopping (at most ${seconds} s in all)`);
      return;
    }
    stopping = true;
    logger.log(`${signal}: ${name} stopping; work in hand has up to ${seconds} s to finish`);
    setTimeout(() => {
      logger.error(
        `${name} did not stop within ${seconds} s; exiting anyway. What was in hand is taken up again ` +
          'from PostgreSQL (webhook attempts when their leases run out, alert jobs when their ' +
          'locks expire or the reconciler re-creates them).',
      );
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
      () => {
        logger.log(`${name} stopped`);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, stop);
}
