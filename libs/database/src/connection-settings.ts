import type { ClientConfig } from 'pg';

/** How long a connection attempt may take before it fails (or the query timeout, if shorter). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Asked of the server for each session (startup `options`, so no statement is spent on them):
 * probe an idle client after 10 s, every 5 s, give up after 3 unanswered probes, or once data it
 * sent has gone unacknowledged for 30 s. A client that vanished without a word (a network
 * partition, a host failing over behind one address, a firewall dropping the flow) is then
 * dropped in well under a minute instead of the operating system's two hours, and with it the
 * session's advisory locks: a subscription runner's leadership passes to a standby, a rebuild's
 * lock is freed.
 */
const SERVER_SIDE = [
  'tcp_keepalives_idle=10',
  'tcp_keepalives_interval=5',
  'tcp_keepalives_count=3',
  'tcp_user_timeout=30000',
]
  .map((setting) => `-c ${setting}`)
  .join(' ');

/**
 * What every PostgreSQL connection of Accord's is opened with, pool or client: the server-side
 * keepalives above, TCP keepalives from this side too, a bounded connection attempt, and, for
 * the long-running processes (api, worker), `queryTimeoutMs`: a query unanswered that long fails
 * (the pool then drops its connection) instead of waiting for ever on a server that is frozen or
 * cut off. The CLI passes none: its migrations and rebuilds may rightly run for minutes.
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
  return {
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: Math.min(CONNECT_TIMEOUT_MS, options.queryTimeoutMs ?? Infinity),
    options: SERVER_SIDE,
    ...(options.queryTimeoutMs !== undefined && { query_timeout: options.queryTimeoutMs }),
  };
}
