import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import { Redis } from 'ioredis';
import { REDIS_DATABASE_CHECKED, redisDatabaseCheck } from './probe-redis';
import { REDIS } from './redis.tokens';

/**
 * One shared ioredis connection for health checks and small reads. BullMQ opens its own
 * connections; `maxRetriesPerRequest: null` is what it requires of any connection it is handed.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      // Connects only once Redis is known not to refuse REDIS_URL's database.
      inject: [ACCORD_CONFIG, REDIS_DATABASE_CHECKED],
      useFactory: (config: AccordConfig) => {
        const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
        // ioredis reconnects by itself; say so once per outage instead of an unhandled error.
        const logger = new Logger('Redis');
        let down = false;
        redis.on('error', (error: Error) => {
          if (!down) logger.warn(`Redis unreachable, retrying: ${error.message}`);
          down = true;
        });
        redis.on('ready', () => {
          if (down) logger.log('Redis reachable again');
          down = false;
        });
        return redis;
      },
    },
    redisDatabaseCheck,
  ],
  exports: [REDIS],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  onApplicationShutdown(): Promise<void> {
    // quit() would queue behind reconnection attempts when Redis is down; nothing is pending
    // on this connection that a graceful QUIT would save.
    this.redis.disconnect();
    return Promise.resolve();
  }
}
