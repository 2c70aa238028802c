import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: the machine's unless REDIS_URL names another. */
export function testRedisUrl(): string {
  return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** A key prefix of its own (`REDIS_PREFIX`), so that runs never see each other's queues. */
export function testRedisPrefix(label = 'test'): string {
  return `accord-test-${label.replace(/[^a-z0-9]/gi, '-').toLowerCase()}-${randomBytes(4).toString('hex')}`;
}

/**
 * Deletes every key under `prefix` — the test's own "flush": other runs' keys are left alone.
 * Returns how many keys went.
 */
export async function deleteRedisPrefix(prefix: string, url = testRedisUrl()): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
