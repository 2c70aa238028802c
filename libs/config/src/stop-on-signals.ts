import type { LoggerService } from '@nestjs/common';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

export interface StopOnSignalsOptions {
  /** As the log lines name the process, e.g. `Accord worker`. */
  name: string;
  /** `SHUTDOWN_TIMEOUT_MS`: past it the process exits with 1 whatever still hangs. */
  timeoutMs: number;
  logger: LoggerService;
  /** Said when the deadline passes: what becomes of the work that was still in hand. */
  whenCutShort: string;
}

/**
 * Stops the app on SIGTERM or SIGINT and exits: 0 once it has closed, 1 if closing failed or did
 * not end within `timeoutMs`. Nest's own shutdown hooks would wait for ever on a hook that waits
 * for an unreachable Redis or PostgreSQL, or on a request whose client never finishes sending
 * it. A second signal while stopping changes nothing (`npm start` and a terminal's Ctrl-C may
 * both send one).
 */
export function stopOnSignals(
  app: { close(): Promise<void> },
  options: StopOnSignalsOptions,
): void {
  const { name, timeoutMs, logger, whenCutShort } = options;
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
      logger.error(`${name} did not stop within ${seconds} s; exiting anyway. ${whenCutShort}`);
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
