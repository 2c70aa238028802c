import { Inject, Injectable, Module } from '@nestjs/common';
import { migrationsUnknownHere } from '@app/database';
import { REDIS } from '@app/redis';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';

export type ReadinessCheck = { status: 'up' } | { status: 'down'; error: string };

export interface ReadinessReport {
  status: 'ok' | 'unavailable';
  checks: { postgres: ReadinessCheck; redis: ReadinessCheck; migrations: ReadinessCheck };
}

/** Each probe gets this long: a monitor's own timeout is usually a few seconds. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * Whether this process can do its work (SPEC §4 `/health/ready`): PostgreSQL and Redis answer
 * and the database's migrations are exactly this version's (none pending, none newer). The api serves it on its HTTP app, the worker beside its metrics.
 */
@Injectable()
export class Readiness {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  async report(): Promise<ReadinessReport> {
    const [postgres, redis, migrations] = await Promise.all([
      probe(() => this.dataSource.query('SELECT 1')),
      probe(() => this.redis.ping()),
      probe(async () => {
        if (await this.dataSource.showMigrations()) throw new Error('pending migrations');
        // A newer version migrated the database under this running process: its answers and
        // writes no longer fit the schema (README, Upgrading).
        const unknown = await migrationsUnknownHere(this.dataSource);
        if (unknown.length)
          throw new Error(`migrated by a newer version of Accord (${unknown.join(', ')})`);
      }),
    ]);
    const checks = { postgres, redis, migrations };
    const ready = Object.values(checks).every((check) => check.status === 'up');
    return { status: ready ? 'ok' : 'unavailable', checks };
  }
}

async function probe(check: () => Promise<unknown>): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { status: 'up' };
  } catch (error) {
    return { status: 'down', error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

/** Provides `Readiness`; needs the database and Redis modules of the app importing it. */
@Module({ providers: [Readiness], exports: [Readiness] })
export class ReadinessModule {}
