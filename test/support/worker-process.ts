import { type ChildProcess, spawn } from 'node:child_process';
import { repoRoot } from './run-process';

export interface WorkerProcess {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Resolves once the worker has booted (its "running" line). */
  ready(timeoutMs?: number): Promise<void>;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
}

/** Starts `apps/worker/src/main.ts` as `npm run start:worker` does, with its own environment. */
export function startWorker(env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/worker/src/main.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return {
    child,
    output: () => output,
    exited,
    ready: (timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`The worker did not start in ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        const check = () => {
          if (output.includes('Accord worker running')) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`The worker exited with ${child.exitCode}:\n${output}`));
          } else {
            setTimeout(check, 50);
          }
        };
        check();
      }),
  };
}
