import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import {
  createTestDatabase,
  eventually,
  testRedisPrefix,
  testRedisUrl,
  type TestDatabase,
} from '@app/testing';
import { stopChildren } from '../scripts/stop-children';
import { CuttableRedis } from './support/cuttable-redis';
import { freePort } from './support/free-port';
import { repoRoot } from './support/run-process';
import { startWorker, type WorkerProcess } from './support/worker-process';

/** Nothing listens on port 1 of the loopback: every connection there is refused at once. */
const NOWHERE_REDIS = 'redis://127.0.0.1:1';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the exit code, or with `timeout` if the process is still running by then. */
function exitWithin(
  exited: Promise<number | null>,
  ms: number,
): Promise<number | null | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    exited,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms))),
  ]).finally(() => clearTimeout(timer));
}

describe('stopping the worker and npm start, with and without Redis', () => {
  let db: TestDatabase;
  let redis: CuttableRedis;
  const started: ChildProcess[] = [];
  /** Grandchildren (npm start's api and worker), killed after each test whatever happened. */
  const spawnedBy: number[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('e2e_shutdown');
  });
  beforeEach(async () => {
    redis = await CuttableRedis.start();
  });
  afterEach(async () => {
    for (const child of started.splice(0))
      if (child.pid && isAlive(child.pid)) child.kill('SIGKILL');
    for (const pid of spawnedBy.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await redis.close();
  });
  afterAll(async () => {
    await db.drop();
  });

  function worker(redisUrl: string): WorkerProcess {
    const process = startWorker({
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      LOG_LEVEL: 'log',
      SHUTDOWN_TIMEOUT_MS: '60000',
    });
    started.push(process.child);
    return process;
  }

  it('exits soon after SIGTERM when Redis went away while it ran', async () => {
    const running = worker(redis.url);
    await running.ready();
    await redis.cut();
    await new Promise((resolve) => setTimeout(resolve, 1500));

    running.child.kill('SIGTERM');
    // Well within its 60 s deadline: nothing waits for the Redis that is gone.
    expect(await exitWithin(running.exited, 10_000)).toBe(0);
    const output = running.output();
    expect(output).toContain('SIGTERM: Accord worker stopping');
    expect(output).toContain('Accord worker stopped');
    // The outage is said once per connection, in the log, not as raw errors per reconnection.
    expect(output.match(/Alert worker: Redis unreachable/g)).toHaveLength(1);
    expect(output).not.toMatch(/^Error: connect ECONNREFUSED/m);
  }, 90_000);

  it('exits soon after SIGINT when Redis was never reachable', async () => {
    const running = worker(NOWHERE_REDIS);
    await running.ready();

    running.child.kill('SIGINT');
    expect(await exitWithin(running.exited, 10_000)).toBe(0);
    expect(running.output()).toContain('Accord worker stopped');
  }, 90_000);

  it('still closes gracefully, and at once, when Redis is there', async () => {
    const running = worker(redis.url);
    await running.ready();

    running.child.kill('SIGTERM');
    expect(await exitWithin(running.exited, 10_000)).toBe(0);
    expect(running.output()).not.toContain('without waiting for Redis');
  }, 90_000);

  it('npm start stops api and worker on Ctrl-C while Redis is unreachable, leaving none behind', async () => {
    const start = spawn(process.execPath, ['-r', '@swc-node/register', 'scripts/start-local.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: NOWHERE_REDIS,
        PORT: String(await freePort()),
        LOG_LEVEL: 'log',
        SHUTDOWN_TIMEOUT_MS: '60000',
        // Plain log lines, to read the process ids from.
        NO_COLOR: '1',
      },
    });
    started.push(start);
    let output = '';
    start.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    start.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => start.on('exit', resolve));
    // Each Nest log line carries its process id.
    const pidOf = (line: RegExp) => {
      const match = new RegExp(`\\[Nest\\] (\\d+) .*${line.source}`).exec(output);
      return match ? Number(match[1]) : undefined;
    };
    const pids = await eventually(
      () => {
        const api = pidOf(/Accord API listening/);
        const worker = pidOf(/Accord worker running/);
        if (!api || !worker) throw new Error(`npm start has not started both yet:\n${output}`);
        return { api, worker };
      },
      { timeoutMs: 100_000 },
    );
    spawnedBy.push(pids.api, pids.worker);

    start.kill('SIGINT');
    expect(await exitWithin(exited, 20_000)).toBe(0);
    expect(isAlive(pids.api)).toBe(false);
    expect(isAlive(pids.worker)).toBe(false);
  }, 150_000);

  it('npm start kills a child that does not stop within the grace period', async () => {
    const stubborn = spawn(process.execPath, [
      '-e',
      "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000);",
    ]);
    const obliging = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000);']);
    started.push(stubborn, obliging);
    await new Promise((resolve) => stubborn.stdout.once('data', resolve));

    const killed = await stopChildren(
      [
        { name: 'stubborn', process: stubborn },
        { name: 'obliging', process: obliging },
      ],
      1000,
    );
    expect(killed).toEqual(['stubborn']);
    expect(stubborn.signalCode).toBe('SIGKILL');
    expect(obliging.signalCode).toBe('SIGTERM');
  });
});

describe('stopping the api', () => {
  let db: TestDatabase;
  const started: ChildProcess[] = [];
  const sockets: Socket[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('e2e_shutdown_api');
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const child of started.splice(0))
      if (child.pid && isAlive(child.pid)) child.kill('SIGKILL');
  });
  afterAll(async () => {
    await db.drop();
  });

  /** `apps/api/src/main.ts` as `npm run start:api` runs it, once it listens. */
  async function startApi(shutdownTimeoutMs: number) {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', '@swc-node/register', 'apps/api/src/main.ts'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        DATABASE_URL: db.url,
        REDIS_URL: testRedisUrl(),
        REDIS_PREFIX: testRedisPrefix('e2e_shutdown_api'),
        PORT: String(port),
        LOG_LEVEL: 'log',
        SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs),
        NO_COLOR: '1',
      },
    });
    started.push(child);
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code, signal) => resolve(code ?? (signal && -1))),
    );
    await eventually(
      () => {
        if (child.exitCode !== null) throw new Error(`The api exited:\n${output}`);
        if (!output.includes('Accord API listening')) throw new Error(`Not listening:\n${output}`);
      },
      { timeoutMs: 60_000 },
    );
    return { child, port, exited, output: () => output };
  }

  it('closes and exits 0 on SIGTERM when nothing is in flight', async () => {
    const api = await startApi(60_000);

    api.child.kill('SIGTERM');
    // An exit code of its own, not death by the signal: it closed, then exited.
    expect(await exitWithin(api.exited, 10_000)).toBe(0);
    expect(api.output()).toContain('SIGTERM: Accord API stopping');
    expect(api.output()).toContain('Accord API stopped');
  }, 90_000);

  it('exits 1 once SHUTDOWN_TIMEOUT_MS has passed when a request holds it open', async () => {
    const api = await startApi(1000);
    // A request whose body never comes: closing the server waits for it, as for any request
    // in flight, for as long as the client likes.
    const socket = connect(api.port, '127.0.0.1');
    sockets.push(socket);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'POST /api/v1/measures HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"code": ',
    );
    await new Promise((resolve) => setTimeout(resolve, 300));

    const signalledAt = Date.now();
    api.child.kill('SIGINT');
    expect(await exitWithin(api.exited, 15_000)).toBe(1);
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1000);
    expect(api.output()).toContain('Accord API did not stop within 1 s; exiting anyway.');
    expect(api.output()).not.toContain('Accord API stopped');
  }, 90_000);
});
