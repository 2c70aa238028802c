import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

/**
 * Samples this process's CPU (V8's profiler, every 200 µs) while `work` runs and writes a
 * `.cpuprofile` that Chrome DevTools (Performance tab) or speedscope open.
 */
export async function profileWhile<T>(file: string, work: () => Promise<T>): Promise<T> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}
