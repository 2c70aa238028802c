import { performance } from 'node:perf_hooks';

/**
 * Runs `concurrency` workers that each repeat their operation until `durationMs` has passed (a
 * closed loop: a worker starts its next operation when the previous one ends). Returns the
 * elapsed time until the last in-flight operation finished, which is what rates divide by.
 */
export async function runClosedLoop(
  concurrency: number,
  durationMs: number,
  worker: (workerId: number, deadline: number) => Promise<void>,
): Promise<number> {
  const start = performance.now();
  const deadline = start + durationMs;
  await Promise.all(Array.from({ length: concurrency }, (_, id) => worker(id, deadline)));
  return performance.now() - start;
}

export const now = (): number => performance.now();
