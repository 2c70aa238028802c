/**
 * `npm start`: api and worker together for local use. Production runs the two entry points
 * separately (see docker/); this only spawns them side by side and stops both together.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const register = ['-r', '@swc-node/register'];
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
