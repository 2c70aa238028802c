export { RedisModule } from './redis.module';
export { REDIS } from './redis.tokens';
export { probeRedis, type RedisProbe } from './probe-redis';
