import { ConfigError } from './config';

/**
 * What a process that failed to start prints on stderr before exiting: what is wrong, in one
 * line, for what the operator can fix (a bad configuration, a port already taken); the whole
 * error, stack included, for anything else.
 */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (code === 'EADDRINUSE' && typeof message === 'string') {
    return `Cannot listen: ${message.replace(/^listen EADDRINUSE: /, '')} (another process holds the port)`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
