import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { REDIS } from '@app/redis';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { Public } from '../http';

type Check = { status: 'up' } | { status: 'down'; error: string };

/**
 * Liveness says the process answers; readiness says it can serve (SPEC §4). Unlike the API
 * routes, they ignore query parameters rather than refuse them: a monitor or load balancer that
 * adds one (a cache buster) must not take a healthy instance for a broken one.
 */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(@Res({ passthrough: true }) reply: FastifyReply) {
    const [postgres, redis, migrations] = await Promise.all([
      this.check(() => this.dataSource.query('SELECT 1')),
      this.check(() => this.redis.ping()),
      this.check(async () => {
        if (await this.dataSource.showMigrations()) throw new Error('pending migrations');
      }),
    ]);
    const checks = { postgres, redis, migrations };
    const ready = Object.values(checks).every((check) => check.status === 'up');
    reply.status(ready ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    return { status: ready ? 'ok' : 'unavailable', checks };
  }

  private async check(probe: () => Promise<unknown>, timeoutMs = 2000): Promise<Check> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        probe(),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
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
}
