import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { deleteRedisPrefix, eventually, testRedisPrefix } from '@app/testing';
import { WorkerModule } from '../../apps/worker/src/worker.module';
import { runEntry } from './run-process';
import { startWriteApi, type WriteApiHarness } from './write-api';

/** How long `npm run cli -- seed` may take on a loaded machine. */
export const SEED_TIMEOUT_MS = 240_000;
/** What a `beforeAll` calling startSeededApi should allow itself. */
export const SEEDED_SETUP_TIMEOUT_MS = SEED_TIMEOUT_MS + 120_000;

export interface SeededApi {
  api: WriteApiHarness;
  worker: INestApplicationContext;
  close(): Promise<void>;
}

/**
 * The api with the bundled dataset imported through the CLI, then a worker, as `npm start` runs
 * them, returned once the worker has started the suspensions that wait for the US one and every
 * subscription has passed the head of the log: what an analyst reads from then on.
 */
export async function startSeededApi(label: string): Promise<SeededApi> {
  const api = await startWriteApi(`e2e_${label.replace(/-/g, '_')}`);
  const redisPrefix = testRedisPrefix(label);
  Object.assign(process.env, {
    SUBSCRIPTION_POLL_MS: '50',
    ALERT_RELAY_POLL_MS: '50',
    REDIS_PREFIX: redisPrefix,
  });
  // Imported before the worker starts: a worker already running would record the lapse of an
  // end whose extension the import has not reached yet.
  const seeded = await runEntry(
    'apps/cli/src/main.ts',
    ['seed'],
    { DATABASE_URL: api.db.url, LOG_LEVEL: 'error' },
    SEED_TIMEOUT_MS,
  );
  if (seeded.code !== 0) throw new Error(`seed failed:\n${seeded.stderr}`);
  const worker = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error'] });
  // China's maritime suspensions and the Hanwha one start when the US one does: the worker's
  // process manager records their start, and the projections then follow those events too.
  await eventually(
    async () => {
      const { rows } = await api.db.pool.query(
        `SELECT c.normalized_code FROM events e
           JOIN stream_codes c ON e.stream_id = 'measure-' || c.aggregate_id
          WHERE e.type = 'SuspensionStarted'
            AND c.normalized_code IN ('CN-MOT-2025-54', 'CN-MOT-2025-55', 'CN-MOFCOM-HANWHA-2025')`,
      );
      expect(rows).toHaveLength(3);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  // Every subscription (read models, process manager) past the head of the log.
  await eventually(
    async () => {
      const { rows } = await api.db.pool.query<{ behind: string; names: string }>(
        `SELECT count(*) FILTER (WHERE c.position < (SELECT coalesce(max(position), 0) FROM events))
                  AS behind,
                count(*) AS names
           FROM subscription_checkpoints c`,
      );
      expect(Number(rows[0].names)).toBeGreaterThanOrEqual(6);
      expect(Number(rows[0].behind)).toBe(0);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  return {
    api,
    worker,
    async close() {
      await worker.close();
      await api.close();
      await deleteRedisPrefix(redisPrefix);
    },
  };
}
