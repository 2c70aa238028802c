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

/** How often the open `QueryTimeoutClient`s are looked over for a query past its time. */
const WATCH_INTERVAL_MS = 250;
const watched = new Set<QueryTimeoutClient>();
let watcher: NodeJS.Timeout | undefined;

function watch(client: QueryTimeoutClient): void {
  watched.add(client);
  watcher ??= setInterval(() => {
    const now = Date.now();
    for (const each of watched) each.closeIfOverdue(now);
  }, WATCH_INTERVAL_MS).unref();
}

function unwatch(client: QueryTimeoutClient): void {
  watched.delete(client);
  if (watched.size === 0 && watcher) {
    clearInterval(watcher);
    watcher = undefined;
  }
}

/**
 * A client that gives up on a server that does not answer: once a query of its own has been
 * running for `query_timeout` (of its config), it closes itself, and every query it holds fails.
 * A watcher looks over the open clients four times a second, so nothing is done per query:
 * node-postgres's own `query_timeout`, a timer per query, and a wrapper noting each query's
 * start and end both cost the api about a fifth of its throughput (measured). node-postgres would
 * also keep the connection when its timeout fires, the statement still counted as running: a
 * ROLLBACK behind it could be given up in turn, and a pool would hand the connection, still in
 * that transaction, to its next user, whose COMMIT would commit the earlier work too. Closed,
 * the connection is dropped by its pool, and the server rolls the transaction back.
 */
export class QueryTimeoutClient extends Client {
  private readonly timeoutMs: number | undefined;
  /** The query seen running at the last look, and since when. */
  private seen: unknown;
  private seenSince = 0;

  constructor(config: ClientConfig = {}) {
    const { query_timeout: timeoutMs, ...rest } = config;
    super(rest);
    this.timeoutMs = typeof timeoutMs === 'number' ? timeoutMs : undefined;
    if (this.timeoutMs === undefined) return;
    watch(this);
    this.once('end', () => unwatch(this));
  }

  /** Closes this client if the query it is running has run longer than its timeout. */
  closeIfOverdue(now: number): void {
    // node-postgres's own accessor (no public one): the query on the wire, if any.
    const running = (this as unknown as { _getActiveQuery(): unknown })._getActiveQuery();
    if (running !== this.seen) {
      this.seen = running;
      this.seenSince = now;
      return;
    }
    if (running == null || this.timeoutMs === undefined || now - this.seenSince < this.timeoutMs)
      return;
    unwatch(this);
    this.end().catch(() => undefined);
  }
}
