import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { ApiProcessMessage, ApiProcessStats } from './query-api-server';

export type { ApiProcessStats } from './query-api-server';

export interface QueryApiOptions {
  /** How many api processes, each on a port of its own (a load balancer's view of replicas). */
  processes: number;
  /** Node options of the api processes, e.g. `--max-semi-space-size=64`. */
  nodeOptions: string[];
  /** DATABASE_URL, ADMIN_API_KEY, LOG_LEVEL… */
  env: Record<string, string>;
}

export interface QueryApi {
  origins: string[];
  pids: number[];
  /**
   * Starts a measurement window in every api process; with `profile`, each samples its CPU into
   * `<profile>-<n>.cpuprofile` until `stop`.
   */
  start(profile?: string): Promise<void>;
  /** Ends it: each process's CPU, GC pauses and event-loop delay. */
  stop(): Promise<ApiProcessStats[]>;
  close(): Promise<void>;
}

/** Starts the api processes (query-api-server.ts) and waits until each listens. */
export async function startQueryApi(options: QueryApiOptions): Promise<QueryApi> {
  const children: ChildProcess[] = [];
  const origins: string[] = [];
  try {
    for (let i = 0; i < options.processes; i += 1) {
      const child = fork(path.join(__dirname, 'query-api-server.ts'), [], {
        execArgv: [...options.nodeOptions, '-r', '@swc-node/register'],
        env: { ...process.env, ...options.env },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      children.push(child);
      const ready = await reply(child, 'ready');
      origins.push(ready.origin);
    }
  } catch (error) {
    for (const child of children) child.kill('SIGKILL');
    throw error;
  }
  return {
    origins,
    pids: children.map((child) => child.pid as number),
    async start(profile) {
      await Promise.all(
        children.map((child, n) => {
          const started = reply(child, 'started');
          child.send({ type: 'start', profile: profile && `${profile}-${n + 1}.cpuprofile` });
          return started;
        }),
      );
    },
    async stop() {
      return Promise.all(
        children.map(async (child) => {
          const stats = reply(child, 'stats');
          child.send({ type: 'stop' });
          return (await stats).stats;
        }),
      );
    },
    async close() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              // The server closes the app (and its pool) on SIGTERM, then exits.
              const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** The next message of `type` from the child; rejects if it exits first. */
function reply<T extends ApiProcessMessage['type']>(
  child: ChildProcess,
  type: T,
): Promise<Extract<ApiProcessMessage, { type: T }>> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`an api process exited (${code}) while the benchmark waited for ${type}`));
    const onMessage = (message: ApiProcessMessage) => {
      if (message.type !== type) return;
      child.off('exit', onExit);
      child.off('message', onMessage);
      resolve(message as Extract<ApiProcessMessage, { type: T }>);
    };
    child.once('exit', onExit);
    child.on('message', onMessage);
  });
}
