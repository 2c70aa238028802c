/**
 * `npm start`: loads the bundled dataset (a no-op when it is already there), then runs api and
 * worker together for local use. Production runs the two entry points separately (see docker/);
 * this only spawns them side by side and stops both together: on Ctrl-C, SIGTERM or SIGHUP, or
 * when either exits, the other is sent SIGTERM, and whichever is still running once the worker's
 * own deadline (`SHUTDOWN_TIMEOUT_MS`) has passed is killed, so that none is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { loadConfig } from '@app/config';
import { stopChildren } from './stop-children';

const register = ['-r', '@swc-node/register'];

const seed = spawnSync(process.execPath, [...register, 'apps/cli/src/main.ts', 'seed'], {
  stdio: 'inherit',
  env: process.env,
});
if (seed.status !== 0) {
  console.error('Loading the bundled dataset failed; not starting.');
  process.exit(seed.status ?? 1);
}
// The seed has validated the configuration. Past the api's and the worker's own deadline
// (`SHUTDOWN_TIMEOUT_MS`), by which each exits by itself, with room for its last log line.
const KILL_AFTER_MS = loadConfig().SHUTDOWN_TIMEOUT_MS + 5_000;
const children: { name: string; process: ChildProcess }[] = [
  { name: 'api', entry: 'apps/api/src/main.ts' },
  { name: 'worker', entry: 'apps/worker/src/main.ts' },
].map(({ name, entry }) => ({
  name,
  process: spawn(process.execPath, [...register, entry], { stdio: 'inherit', env: process.env }),
}));

let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  stopChildren(children, KILL_AFTER_MS, (name) =>
    console.error(`accord ${name} did not stop within ${KILL_AFTER_MS / 1000} s; killing it`),
  ).then(
    () => process.exit(code),
    () => process.exit(code),
  );
}

for (const { name, process: child } of children) {
  child.once('exit', (code, signal) => {
    if (!stopping)
      console.error(`accord ${name} exited with ${signal ?? `code ${code}`}; stopping`);
    stopAll(code ?? 1);
  });
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => stopAll(0));
