import { deleteRedisPrefix, eventually, testRedisPrefix, testRedisUrl } from '@app/testing';
import { Queue, Worker } from 'bullmq';
import { closeBull } from './bull-connections';
import { bullOptions } from './queues';

/**
 * How a worker was closed decides what its shutdown log says: a worker whose jobs wait on
 * PostgreSQL must not be reported as waiting for Redis.
 */
describe('closeBull', () => {
  const prefix = testRedisPrefix('close-bull');
  const options = bullOptions({ REDIS_URL: testRedisUrl(), REDIS_PREFIX: prefix });

  afterAll(async () => {
    await deleteRedisPrefix(prefix);
  });

  it('closes an idle worker gracefully', async () => {
    const worker = new Worker('idle', () => Promise.resolve(), options);
    await worker.waitUntilReady();
    expect(await closeBull(worker, 2000)).toBe('closed');
  });

  it('says the jobs in hand outlasted the grace period while Redis answers', async () => {
    let finish: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => (finish = resolve));
    let started = false;
    const worker = new Worker(
      'hanging',
      async () => {
        started = true;
        await hanging;
      },
      options,
    );
    const queue = new Queue('hanging', options);
    try {
      await queue.add('wait', {});
      await eventually(() => expect(started).toBe(true));
      expect(await closeBull(worker, 300)).toBe('timed-out');
    } finally {
      finish();
      await queue.close();
    }
  });

  it('says Redis did not answer when it is away', async () => {
    // Nothing listens on port 1 of the loopback: the connection is refused at once, again and again.
    const away = bullOptions({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: prefix });
    const worker = new Worker('away', () => Promise.resolve(), away);
    worker.on('error', () => undefined);
    expect(await closeBull(worker, 2000)).toBe('redis-away');
  });
});
