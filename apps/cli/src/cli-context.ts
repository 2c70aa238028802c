import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { redactUrl } from '@app/database';
import { probeRedis } from '@app/redis';

/**
 * A command's Nest context. Nest would log a failed start (PostgreSQL unreachable, say) as a
 * stack trace before the CLI could say what went wrong in one line: it stays quiet while
 * starting, and the error reaches `main`, which prints it (see `describeCliError`).
 */
export async function openCliContext(module: Type<unknown>): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(module, {
    logger: false,
    abortOnError: false,
  });
  app.useLogger(['error', 'warn']);
  return app;
}

/**
 * Throws a one-line error unless Redis answers within a few seconds (no endless reconnects),
 * and a `ConfigError` if it refuses the database REDIS_URL names.
 */
export async function ensureRedisReachable(url: string): Promise<void> {
  const probe = await probeRedis(url, 3000);
  if (!probe.reachable) throw new Error(`Cannot reach Redis at ${redactUrl(url)}: ${probe.reason}`);
}

/** What `main` prints for an error no command handled: one line, the cause named. */
export function describeCliError(error: unknown): string {
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) {
    const where = address ? ` ${address}${port ? `:${port}` : ''}` : '';
    return `Cannot connect to${where} (${code}): check that PostgreSQL and Redis run and that DATABASE_URL and REDIS_URL point at them.`;
  }
  return error instanceof Error ? error.message : String(error);
}
