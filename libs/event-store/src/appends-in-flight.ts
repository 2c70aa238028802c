/**
 * Every append holds an advisory lock until its transaction ends, taken before it draws a
 * position (`accord_append`, migration AppendHoldsLock1765000000000): the first key is this
 * number, the second its backend's pid, so appends never wait for one another. A reader that
 * meets a gap in the log asks `pg_locks` which appends are in flight in this database and waits
 * for those alone: an unrelated long transaction no longer holds every reader back.
 */
export const APPEND_LOCK_CLASS = 1_094_927_172;

/** The virtual transaction ids of the appends in flight in this database, one row each. */
export const APPENDS_IN_FLIGHT = `SELECT virtualtransaction FROM pg_locks
  WHERE locktype = 'advisory' AND classid = ${APPEND_LOCK_CLASS} AND objsubid = 2
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
