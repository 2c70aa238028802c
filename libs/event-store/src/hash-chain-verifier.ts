import { createHash } from 'node:crypto';
import type { Pool } from 'pg';

export interface BrokenLink {
  streamId: string;
  version: number;
  position: number;
  reason: 'hash-mismatch' | 'previous-hash-mismatch' | 'version-gap';
}

/**
 * Events a command recorded (with its command id, for idempotency) that are not in their stream
 * any more: the newest events of a stream, or a whole stream, deleted leave every remaining
 * chain intact, and only these records, as immutable as the events, say they were there.
 */
export interface MissingCommandEvents {
  commandId: string;
  streamId: string;
  firstPosition: number;
  lastPosition: number;
}

/**
 * A consumer whose checkpoint is past the log's newest event: it read events the log no longer
 * holds, so the log's newest events were deleted (their chains end whole, nothing else says so).
 */
export interface ConsumerAheadOfLog {
  consumer: string;
  checkpoint: number;
  /** The newest position the log holds (0 when it is empty). */
  head: number;
}

export interface ChainReport {
  checkedEvents: number;
  checkedStreams: number;
  /** The first broken link in (stream, version) order, or null when every chain holds. */
  firstBroken: BrokenLink | null;
  /** The first command whose events are gone, by position, or null when none is. */
  missingCommandEvents: MissingCommandEvents | null;
  /** The consumer furthest past the log's head, or null when none is. */
  consumerAheadOfLog: ConsumerAheadOfLog | null;
}

interface ChainRow {
  stream_id: string;
  version: string;
  position: string;
  event_id: string;
  type: string;
  schema_version: number;
  payload: string;
  metadata: string;
  recorded_micros: string;
  prev_hash: Buffer;
  hash: Buffer;
}

/**
 * Recomputes every stream's hash chain in Node from the stored columns — independently of the
 * SQL that wrote it — and reports the first link that does not hold.
 */
export async function verifyHashChains(
  pool: Pool,
  onProgress: (checkedEvents: number) => void = () => undefined,
  pageSize = 5000,
): Promise<ChainReport> {
  let after: [string, number] = ['', 0];
  let checkedEvents = 0;
  let checkedStreams = 0;
  let currentStream: string | null = null;
  let previousHash: Buffer = Buffer.alloc(0);
  let previousVersion = 0;

  for (;;) {
    const { rows } = await pool.query<ChainRow>(
      `SELECT stream_id, version, position, event_id::text, type, schema_version,
              payload::text AS payload, metadata::text AS metadata,
              (extract(epoch FROM recorded_at) * 1000000)::bigint::text AS recorded_micros,
              prev_hash, hash
         FROM events WHERE (stream_id, version) > ($1, $2)
        ORDER BY stream_id, version LIMIT $3`,
      [after[0], after[1], pageSize],
    );
    if (rows.length === 0) break;
    for (const row of rows) {
      const version = Number(row.version);
      if (row.stream_id !== currentStream) {
        currentStream = row.stream_id;
        previousHash = Buffer.alloc(0);
        previousVersion = 0;
        checkedStreams += 1;
      }
      const link = { streamId: row.stream_id, version, position: Number(row.position) };
      if (version !== previousVersion + 1) {
        return {
          checkedEvents,
          checkedStreams,
          firstBroken: { ...link, reason: 'version-gap' },
          missingCommandEvents: null,
          consumerAheadOfLog: null,
        };
      }
      if (!row.prev_hash.equals(previousHash)) {
        return {
          checkedEvents,
          checkedStreams,
          firstBroken: { ...link, reason: 'previous-hash-mismatch' },
          missingCommandEvents: null,
          consumerAheadOfLog: null,
        };
      }
      const text = [
        row.stream_id,
        row.version,
        row.event_id,
        row.type,
        String(row.schema_version),
        row.payload,
        row.metadata,
        row.recorded_micros,
      ].join('\n');
      const expected = createHash('sha256')
        .update(Buffer.concat([row.prev_hash, Buffer.from(text, 'utf8')]))
        .digest();
      if (!expected.equals(row.hash)) {
        return {
          checkedEvents,
          checkedStreams,
          firstBroken: { ...link, reason: 'hash-mismatch' },
          missingCommandEvents: null,
          consumerAheadOfLog: null,
        };
      }
      previousHash = row.hash;
      previousVersion = version;
      checkedEvents += 1;
    }
    const last = rows[rows.length - 1];
    after = [last.stream_id, Number(last.version)];
    onProgress(checkedEvents);
  }

  return {
    checkedEvents,
    checkedStreams,
    firstBroken: null,
    missingCommandEvents: await missingCommandEvents(pool),
    consumerAheadOfLog: await consumerAheadOfLog(pool),
  };
}

async function consumerAheadOfLog(pool: Pool): Promise<ConsumerAheadOfLog | null> {
  // A checkpoint only ever moves to a position it has read, and a position is read once
  // committed: a checkpoint past the newest stored event is never a race with a writer.
  const { rows } = await pool.query<{ name: string; position: string; head: string }>(
    `SELECT c.name, c.position, h.head
       FROM subscription_checkpoints c,
            (SELECT coalesce(max(position), 0) AS head FROM events) h
      WHERE c.position > h.head
      ORDER BY c.position DESC, c.name LIMIT 1`,
  );
  const row = rows[0];
  return row
    ? { consumer: row.name, checkpoint: Number(row.position), head: Number(row.head) }
    : null;
}

async function missingCommandEvents(pool: Pool): Promise<MissingCommandEvents | null> {
  const { rows } = await pool.query<{
    command_id: string;
    stream_id: string;
    first_position: string;
    last_position: string;
  }>(
    `SELECT command_id, stream_id, first_position, last_position FROM event_commands c
      WHERE NOT EXISTS (SELECT 1 FROM events e
                         WHERE e.position = c.first_position AND e.stream_id = c.stream_id)
         OR NOT EXISTS (SELECT 1 FROM events e
                         WHERE e.position = c.last_position AND e.stream_id = c.stream_id)
      ORDER BY first_position LIMIT 1`,
  );
  const row = rows[0];
  return row
    ? {
        commandId: row.command_id,
        streamId: row.stream_id,
        firstPosition: Number(row.first_position),
        lastPosition: Number(row.last_position),
      }
    : null;
}
