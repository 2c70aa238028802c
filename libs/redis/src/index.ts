export { RedisModule } from './redis.module';
export { REDIS } from './redis.tokens';
