import type { ChildProcess } from 'node:child_process';

/** Whether a child has neither exited nor been ended by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/**
 * Sends SIGTERM to every child still running and waits for them to exit; a child still running
 * `graceMs` later gets SIGKILL, so that stopping never leaves one behind. Resolves once all have
 * exited, with the names of those that had to be killed.
 */
export async function stopChildren(
  children: { name: string; process: ChildProcess }[],
  graceMs: number,
  onKill: (name: string) => void = () => undefined,
): Promise<string[]> {
  const killed: string[] = [];
  const exits = children
    .filter(({ process: child }) => isRunning(child))
    .map(
      ({ process: child }) => new Promise<void>((resolve) => child.once('exit', () => resolve())),
    );
  for (const { process: child } of children) if (isRunning(child)) child.kill('SIGTERM');
  const timer = setTimeout(() => {
    for (const { name, process: child } of children) {
      if (!isRunning(child)) continue;
      killed.push(name);
      onKill(name);
      child.kill('SIGKILL');
    }
  }, graceMs);
  try {
    await Promise.all(exits);
  } finally {
    clearTimeout(timer);
  }
  return killed;
}
