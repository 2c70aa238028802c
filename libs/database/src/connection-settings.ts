import { Client, type ClientConfig } from 'pg';

/** How long a connection attempt may take before it fails (or the query timeout, if shorter). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * How much longer than the server's own statement timeout this side waits for an answer (at most
 * as long again as that timeout): the
 * server cancels a slow statement first and answers with an error, which rolls back cleanly;
 * only a server that does not answer at all (frozen, cut off) meets this side's timeout.
 */
const CLIENT_MARGIN_MS = 5_000;

/**
 * Asked of the server for each session (startup `options`, so no statement is spent on them):
 * probe an idle client after 10 s, every 5 s, give up after 3 unanswered probes, or once data it
 * sent has gone unacknowledged for 30 s. A client that vanished without a word (a network
 * partition, a host failing over behind one address, a firewall dropping the flow) is then
 * dropped in well under a minute instead of the operating system's two hours, and with it the
 * session's open transaction and advisory locks: a subscription runner's leadership passes to a
 * standby, a rebuild's lock is freed.
 */
const SERVER_SIDE = [
  'tcp_keepalives_idle=10',
  'tcp_keepalives_interval=5',
  'tcp_keepalives_count=3',
  'tcp_user_timeout=30000',
];

/**
 * What every PostgreSQL connection of Accord's is opened with, pool or client: the server-side
 * keepalives above, TCP keepalives from this side too, and a bounded connection attempt. With
 * `queryTimeoutMs` (the api and the worker; not migrations, nor the CLI, whose rebuilds may
 * rightly run for minutes), the server cancels a statement running that long, and this side
 * gives up on one unanswered a little longer (open such clients as `QueryTimeoutClient`).
 */
export function connectionSettings(
  options: { queryTimeoutMs?: number } = {},
): Pick<
  ClientConfig,
  | 'keepAlive'
  | 'keepAliveInitialDelayMillis'
  | 'connectionTimeoutMillis'
  | 'options'
  | 'query_timeout'
> {
  const { queryTimeoutMs } = options;
  const server =
    queryTimeoutMs === undefined
      ? SERVER_SIDE
      : [...SERVER_SIDE, `statement_timeout=${queryTimeoutMs}`];
  return {
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: Math.min(CONNECT_TIMEOUT_MS, queryTimeoutMs ?? Infinity),
    options: server.map((setting) => `-c ${setting}`).join(' '),
    ...(queryTimeoutMs !== undefined && {
      query_timeout: queryTimeoutMs + Math.min(CLIENT_MARGIN_MS, queryTimeoutMs),
    }),
  };
}

/** What node-postgres rejects a query with when its `query_timeout` runs out. */
const CLIENT_TIMEOUT = 'Query read timeout';

/**
 * A client that closes itself when a query of its own times out on this side. node-postgres
 * would otherwise keep the connection, its statement still counted as running: a ROLLBACK sent
 * after it waits behind it and may be given up in turn, and a pool would then hand the
 * connection, still inside that transaction, to its next user, whose COMMIT would commit the
 * earlier work too. Closed, the connection is dropped by its pool and the server rolls back.
 */
export class QueryTimeoutClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    const closeOnTimeout = (error: unknown) => {
      if ((error as { message?: unknown } | null)?.message === CLIENT_TIMEOUT)
        this.end().catch(() => undefined);
    };
    Object.assign(this, {
      query: (...args: unknown[]) => {
        const callback = args.at(-1);
        if (typeof callback === 'function') {
          args[args.length - 1] = (error: unknown, ...rest: unknown[]) => {
            closeOnTimeout(error);
            (callback as (...values: unknown[]) => void)(error, ...rest);
          };
          return query(...args);
        }
        const result = query(...args);
        if (result instanceof Promise)
          return result.catch((error: unknown) => {
            closeOnTimeout(error);
            throw error;
          });
        return result;
      },
    });
  }
}
