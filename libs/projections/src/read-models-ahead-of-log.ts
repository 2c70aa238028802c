import { agreementStreamId, measureStreamId } from '@app/trade';
import type { Pool } from 'pg';

/** A read model that has folded more of a stream than the log still holds. */
export interface StreamAheadOfLog {
  streamId: string;
  /** The stream version the read model was built from. */
  readModelVersion: number;
  /** The stream's newest version in the log (0 when none of it is left). */
  logVersion: number;
}

/**
 * The first stream, by id, whose status row was built from a version the log no longer has:
 * its newest events, or all of it, were deleted. The hash chains cannot show that (what is left
 * of a chain is whole), and without an `Idempotency-Key` nothing else recorded those events.
 *
 * A status row is written after its events commit, so a writer running meanwhile cannot make a
 * row look ahead: the read models only ever lag the log.
 */
export async function readModelAheadOfLog(pool: Pool): Promise<StreamAheadOfLog | null> {
  const { rows } = await pool.query<{
    stream_id: string;
    read_model_version: string;
    log_version: string;
  }>(
    `SELECT s.stream_id, s.version AS read_model_version, coalesce(l.version, 0) AS log_version
       FROM (SELECT $1 || measure_id AS stream_id, version FROM measure_status
             UNION ALL
             SELECT $2 || agreement_id AS stream_id, version FROM agreement_status) s
       LEFT JOIN LATERAL (SELECT max(e.version) AS version FROM events e
                           WHERE e.stream_id = s.stream_id) l ON true
      WHERE s.version > coalesce(l.version, 0)
      ORDER BY s.stream_id LIMIT 1`,
    [measureStreamId(''), agreementStreamId('')],
  );
  const row = rows[0];
  return row
    ? {
        streamId: row.stream_id,
        readModelVersion: Number(row.read_model_version),
        logVersion: Number(row.log_version),
      }
    : null;
}
