import type { INestApplicationContext, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { describePostgresRefusal } from '@app/config';
import { connectionSettings, redactUrl } from '@app/database';
import { probeRedis } from '@app/redis';
import { Client } from 'pg';

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

/**
 * Why a maintenance command (verify, projections:rebuild, alerts:reconcile, api-keys:create)
 * cannot run on the database DATABASE_URL names, or null when it holds Accord's event log. These
 * commands look after a log that exists: on a missing database they would create an empty one
 * (which is what opening Accord's database does, for seed, import and the servers), run on
 * nothing and report success (or make a key no Accord knows), when the likely cause is a
 * mistyped or unset DATABASE_URL.
 */
export async function missingEventLog(url: string): Promise<string | null> {
  const client = new Client({
    connectionString: url,
    application_name: 'accord-cli',
    ...connectionSettings(),
  });
  try {
    await client.connect();
  } catch (error) {
    // 3D000, invalid_catalog_name: the server is there, the database is not.
    if ((error as { code?: string }).code !== '3D000') throw error;
    const name = decodeURIComponent(new URL(url).pathname.slice(1));
    return (
      `Database "${name}" does not exist (DATABASE_URL is ${redactUrl(url)}): this command ` +
      'works on an Accord database and creates none. Check DATABASE_URL (seed, import, the api ' +
      'and the worker create the database).'
    );
  }
  try {
    const { rows } = await client.query<{ log: string | null }>(
      "SELECT to_regclass('events')::text AS log",
    );
    return rows[0].log
      ? null
      : `${redactUrl(url)} has no Accord event log: nothing was ever recorded there ` +
          '(the api, the worker and seed create it).';
  } finally {
    await client.end();
  }
}

/** What `main` prints for an error no command handled: one line, the cause named. */
export function describeCliError(error: unknown): string {
  const { code, address, port } = error as { code?: string; address?: string; port?: number };
  if (code && ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(code)) {
    const where = address ? ` ${address}${port ? `:${port}` : ''}` : '';
    return `Cannot connect to${where} (${code}): check that PostgreSQL and Redis run and that DATABASE_URL and REDIS_URL point at them.`;
  }
  const message = error instanceof Error ? error.message : String(error);
  // node-postgres's own words for a server that never answered the start-up (not PostgreSQL on
  // that port?) or dropped the connection: they name neither the server nor what to check.
  if (/^(timeout expired|Connection terminated)/.test(message)) {
    return `PostgreSQL did not answer (${message}): check that DATABASE_URL points at a running PostgreSQL server.`;
  }
  return describePostgresRefusal(error) ?? message;
}
