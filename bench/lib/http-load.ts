import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';

/** One fixed-duration closed-loop run: `connections` clients POST `body` to `url`. */
export interface LoadRequest {
  url: string;
  headers: Record<string, string>;
  /** JSON; every `[<id>]` becomes a fresh id in each request. */
  body: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  /** 2xx responses. */
  ok: number;
  elapsedMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** Latency of every 2xx response, float milliseconds. */
  latenciesMs: number[];
}

export interface LoadClient {
  /** The load generator's process id. */
  pid: number | undefined;
  run(request: LoadRequest): Promise<LoadResult>;
  close(): void;
}

/**
 * Starts the load generator (autocannon) in a child process: in the server's own process it
 * would compete with the server for the event loop. One child serves every run, in turn.
 */
export function startLoadClient(): LoadClient {
  const child: ChildProcess = fork(path.join(__dirname, 'load-client.ts'), [], {
    execArgv: ['-r', '@swc-node/register'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    pid: child.pid,
    run(request) {
      return new Promise((resolve, reject) => {
        const onExit = (code: number | null) =>
          reject(new Error(`the load generator exited (${code}) during a run`));
        child.once('exit', onExit);
        child.once('message', (message: { result?: LoadResult; error?: string }) => {
          child.off('exit', onExit);
          if (message.result) resolve(message.result);
          else reject(new Error(`load generator: ${message.error}`));
        });
        child.send(request);
      });
    },
    close() {
      child.kill();
    },
  };
}
