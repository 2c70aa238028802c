import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { nestLogLevels, OperatorError, type AccordConfig } from './config';

const NETWORK_ERRORS = ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET'];

/**
 * SQLSTATE classes PostgreSQL answers a connection it will not take with: 08 (connection),
 * 28 (authorization: no such role, a wrong password), 3D (no such database), 53300 (too many
 * connections; not the rest of class 53, a disk or memory running out mid-statement), 57P
 * (shutting down or starting up), and 42501 (no right to create the database).
 */
const CONNECTION_REFUSALS = /^(08|28|3D|57P)|^53300$|^42501$/;

/**
 * What a process that failed to start prints on stderr before exiting: what is wrong, in one
 * line, for what the operator can fix (a bad configuration, a port already taken, PostgreSQL
 * out of reach or refusing the connection); the whole error, stack included, for anything else.
 */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof OperatorError) return error.message;
  const { code, message, address, port, hostname } = error as {
    code?: unknown;
    message?: unknown;
    address?: unknown;
    port?: unknown;
    hostname?: unknown;
  };
  if (code === 'EADDRINUSE' && typeof message === 'string') {
    return `Cannot listen: ${message.replace(/^listen EADDRINUSE: /, '')} (another process holds the port)`;
  }
  // At start-up only PostgreSQL can fail a connection: Redis connections retry in the background.
  if (typeof code === 'string' && NETWORK_ERRORS.includes(code)) {
    const host = typeof address === 'string' ? address : hostname;
    const at = typeof port === 'number' || typeof port === 'string' ? `:${port}` : '';
    const where = typeof host === 'string' ? ` ${host}${at}` : '';
    return `Cannot connect to PostgreSQL at${where} (${code}): check that it runs and that DATABASE_URL points at it.`;
  }
  return (
    describePostgresRefusal(error) ??
    (error instanceof Error ? (error.stack ?? error.message) : String(error))
  );
}

/**
 * What PostgreSQL refusing a connection means, in one line (too many clients, a wrong
 * password, no such database, shutting down), or undefined for any other error.
 */
export function describePostgresRefusal(error: unknown): string | undefined {
  const { code, message, severity } = error as {
    code?: unknown;
    message?: unknown;
    severity?: unknown;
  };
  if (typeof severity !== 'string' || typeof code !== 'string' || !CONNECTION_REFUSALS.test(code))
    return undefined;
  const hint =
    code === '53300'
      ? 'the server has no connection to spare (max_connections, or the role limit); try again, or raise it'
      : 'check the user, password and database in DATABASE_URL';
  return `PostgreSQL refused the connection: ${String(message)} (${code}); ${hint}.`;
}

/**
 * Nest's console logger at the configured level, minus Nest's own reports of a failed start:
 * it logs the error before the entry point's catch gets it, and that catch says it already
 * (`describeStartupFailure`), in one line when the operator can fix it. Nest reports a failed
 * start in two places: a module that fails to initialise (context `ExceptionHandler`, with its
 * stack), and a server that fails to listen, a port in use (`NestApplication`: `listen()`
 * logs the server's error event, then rejects with the same error).
 */
export function nestLogger(level: AccordConfig['LOG_LEVEL']): LoggerService {
  return new StartupLogger({ logLevels: nestLogLevels(level) });
}

/** What `NestApplication.listen` logs of the server's error (`error.toString()`). */
const LISTEN_FAILURE = /^\w*Error: listen /;

class StartupLogger extends ConsoleLogger {
  override error(message: unknown, ...optionalParams: unknown[]): void {
    const context = optionalParams.at(-1);
    if (context === 'ExceptionHandler') return;
    if (
      context === 'NestApplication' &&
      typeof message === 'string' &&
      LISTEN_FAILURE.test(message)
    )
      return;
    super.error(message, ...optionalParams);
  }
}
