/**
 * `npm start`: loads the bundled dataset (a no-op when it is already there), then runs api and
 * worker together for local use. Production runs the two entry points separately (see docker/);
 * this only spawns them side by side and stops both together.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

const register = ['-r', '@swc-node/register'];

const seed = spawnSync(process.execPath, [...register, 'apps/cli/src/main.ts', 'seed'], {
  stdio: 'inherit',
  env: process.env,
});
if (seed.status !== 0) {
  console.error('Loading the bundled dataset failed; not starting.');
  process.exit(seed.status ?? 1);
}
const apps = [
  { name: 'api', entry: 'apps/api/src/main.ts' },
  { name: 'worker', entry: 'apps/worker/src/main.ts' },
];

const children: ChildProcess[] = apps.map(({ entry }) =>
  spawn(process.execPath, [...register, entry], { stdio: 'inherit', env: process.env }),
);

let stopping = false;
function stopAll(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 10_000).unref();
  Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve)))).then(
    () => process.exit(code),
    () => process.exit(code),
  );
}

children.forEach((child, index) =>
  child.once('exit', (code) => {
    if (!stopping) console.error(`accord ${apps[index].name} exited with code ${code}; stopping`);
    stopAll(code ?? 1);
  }),
);
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
