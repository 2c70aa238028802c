import type { Pool } from 'pg';
import { openPool } from './bench-database';
import { MeasureHistory, type HistoryOptions } from './measure-history';

/** Appends per statement: one transaction, one recorded_at, about 1.5 MB of JSON. */
const APPENDS_PER_STATEMENT = 1000;
const CONNECTIONS = 2;

export interface LoadedHistory {
  history: MeasureHistory;
  events: number;
  streams: number;
  loadMs: number;
}

/**
 * Writes a generated history through `accord_append` itself, one call per command with the
 * version the stream is expected at, so every row is a valid, hash-chained event in the order a
 * live system would have recorded it. Calls are batched into statements of
 * APPENDS_PER_STATEMENT (each a transaction, so their events share a recorded_at) on two
 * connections; a stream always goes to the same connection, which keeps its versions in order.
 * Generation overlaps with the database's work. Then the codes are claimed in `stream_codes`
 * as the write side would have, and the log is vacuumed, analysed and checkpointed.
 */
export async function loadHistory(
  url: string,
  options: HistoryOptions,
  onProgress: (events: number) => void = () => undefined,
): Promise<LoadedHistory> {
  const started = performance.now();
  const history = new MeasureHistory(options);
  const pool = await openPool(url, CONNECTIONS, 'bench-load-history');
  try {
    const batches: unknown[][] = Array.from({ length: CONNECTIONS }, () => []);
    const inFlight: Promise<unknown>[] = Array.from({ length: CONNECTIONS }, () =>
      Promise.resolve(),
    );
    const streams = new Set<string>();
    let events = 0;
    let reported = 0;
    const send = async (connection: number) => {
      const batch = batches[connection];
      batches[connection] = [];
      await inFlight[connection];
      inFlight[connection] = append(pool, batch);
      // A failure surfaces when this connection is next awaited; keep it from going unhandled.
      inFlight[connection].catch(() => undefined);
    };
    for (const item of history.appends()) {
      const connection = item.streamId.charCodeAt(item.streamId.length - 1) % CONNECTIONS;
      batches[connection].push({
        stream_id: item.streamId,
        expected: item.expectedVersion,
        events: item.events,
      });
      streams.add(item.streamId);
      events += item.events.length;
      if (batches[connection].length >= APPENDS_PER_STATEMENT) await send(connection);
      if (events - reported >= 50_000) {
        reported = events;
        onProgress(events);
      }
    }
    for (let connection = 0; connection < CONNECTIONS; connection += 1) {
      if (batches[connection].length) await send(connection);
    }
    await Promise.all(inFlight);
    onProgress(events);

    const codes = history.codes;
    for (let from = 0; from < codes.length; from += 10_000) {
      await pool.query(
        `INSERT INTO stream_codes (kind, normalized_code, code, aggregate_id)
         SELECT kind, upper(code), code, id::uuid
           FROM jsonb_to_recordset($1::jsonb) AS c(kind text, code text, id text)`,
        [JSON.stringify(codes.slice(from, from + 10_000))],
      );
    }
    await pool.query('VACUUM (ANALYZE) events');
    await pool.query('ANALYZE stream_codes');
    await pool.query('CHECKPOINT');
    return { history, events, streams: streams.size, loadMs: performance.now() - started };
  } finally {
    await pool.end();
  }
}

async function append(pool: Pool, batch: unknown[]): Promise<void> {
  await pool.query(
    `SELECT count(accord_append(a.stream_id, a.expected, NULL, a.events))
       FROM jsonb_to_recordset($1::jsonb) AS a(stream_id text, expected bigint, events jsonb)`,
    [JSON.stringify(batch)],
  );
}
