import { randomBytes } from 'node:crypto';
import type { EnvironmentContext, JestEnvironmentConfig } from '@jest/environment';
import { TestEnvironment } from 'jest-environment-node';
// Jest loads an environment outside its module registry, where the `@app/*` alias (a
// moduleNameMapper) does not resolve: the one file it needs is imported by path.
// eslint-disable-next-line no-restricted-imports
import { deleteRedisPrefix } from '../libs/testing/src/test-redis';

/**
 * The integration and e2e tiers' environment. Every test file gets Redis keys of its own
 * (`REDIS_PREFIX`; jest gives each file its own process.env, and child processes a test spawns
 * inherit it), so files and overlapping runs never share a queue; and once the file is done,
 * after its own `afterAll` hooks have closed its queues and workers, those keys are deleted, so
 * that runs leave nothing behind in Redis. A file that moves to another prefix of its own has
 * that one deleted too.
 */
export default class RedisIsolatedEnvironment extends TestEnvironment {
  private readonly prefix = `accord-test-${randomBytes(6).toString('hex')}`;

  constructor(config: JestEnvironmentConfig, context: EnvironmentContext) {
    super(config, context);
    this.global.process.env.REDIS_PREFIX = this.prefix;
  }

  override async teardown(): Promise<void> {
    const prefixes = new Set([this.prefix, this.global.process.env.REDIS_PREFIX ?? this.prefix]);
    try {
      for (const prefix of prefixes) await deleteRedisPrefix(prefix);
    } finally {
      await super.teardown();
    }
  }
}
