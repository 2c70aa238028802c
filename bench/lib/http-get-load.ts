import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { LoadResult } from './http-load';

/**
 * One fixed-duration closed-loop run of GETs, each request on the next path of the list. With
 * several origins (replicas of one server) the connections are shared out evenly among them.
 */
export interface GetLoadRequest {
  /** `http://127.0.0.1:port`, one per replica. */
  origins: string[];
  paths: string[];
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

export interface GetLoadResult extends LoadResult {
  /** Bytes of the 2xx responses, headers included. */
  bytes: number;
}

export interface GetLoadClient {
  /** The load generator's process id. */
  pid: number | undefined;
  run(request: GetLoadRequest): Promise<GetLoadResult>;
  close(): void;
}

/** Starts the GET load generator (autocannon) in a child process, as http-load.ts does for POSTs. */
export function startGetLoadClient(): GetLoadClient {
  const child: ChildProcess = fork(path.join(__dirname, 'get-load-client.ts'), [], {
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
        child.once('message', (message: { result?: GetLoadResult; error?: string }) => {
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
