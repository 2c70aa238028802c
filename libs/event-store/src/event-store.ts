import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { CommandIdReusedError, WrongExpectedVersionError } from './event-store.errors';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  GlobalPage,
  NewEvent,
  ReadStreamOptions,
  RecordedEvent,
} from './event-store.types';
import { UpcasterRegistry } from './upcaster-registry';

/** The channel appends are announced on; a hint only, readers also poll. */
export const EVENTS_CHANNEL = 'accord_events';

interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  version: string;
  type: string;
  schema_version: number;
  payload: Record<string, unknown>;
  metadata: EventMetadata;
  recorded_at: Date;
}

const EVENT_COLUMNS =
  'position, event_id, stream_id, version, type, schema_version, payload, metadata, recorded_at';

/**
 * The PostgreSQL event store. All guarantees (immutability, expected versions, idempotent command
 * ids, a global order without skips, hash chains) are enforced by the schema and by the
 * `accord_append` function of the event-store migration; this class is the typed door to them.
 */
export class EventStore {
  private notifying: Promise<void> | undefined;
  private notifyAgain = false;

  constructor(
    private readonly pool: Pool,
    private readonly upcasters: UpcasterRegistry = new UpcasterRegistry(),
  ) {}

  async append(
    streamId: string,
    events: NewEvent[],
    options: AppendOptions = {},
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('An append needs at least one event');
    const expected = options.expectedVersion ?? 'any';
    const expectedSql = expected === 'any' ? null : expected === 'no-stream' ? 0 : expected;
    const batch = events.map((event) => ({
      eventId: event.eventId ?? randomUUID(),
      type: event.type,
      schemaVersion: event.schemaVersion ?? 1,
      payload: event.payload,
      metadata: {
        ...options.metadata,
        ...event.metadata,
        ...(options.commandId ? { commandId: options.commandId } : {}),
      },
    }));
    const result = await this.callAppend(
      streamId,
      expectedSql,
      options.commandId,
      batch,
      expected,
      options.beforeCommit,
    );
    if (result.duplicate && result.streamId !== streamId) {
      throw new CommandIdReusedError(options.commandId ?? '', result.streamId, streamId);
    }
    if (!result.duplicate) this.announce();
    return result;
  }

  private async callAppend(
    streamId: string,
    expectedSql: number | null,
    commandId: string | undefined,
    batch: unknown[],
    expected: AppendOptions['expectedVersion'],
    beforeCommit: AppendOptions['beforeCommit'],
    attempt = 1,
  ): Promise<AppendResult> {
    const sql = 'SELECT accord_append($1, $2, $3, $4) AS result';
    const params = [streamId, expectedSql, commandId ?? null, JSON.stringify(batch)];
    try {
      if (!beforeCommit) {
        const { rows } = await this.pool.query<{ result: AppendResult }>(sql, params);
        return rows[0].result;
      }
      return await this.inTransaction(async (client) => {
        const { rows } = await client.query<{ result: AppendResult }>(sql, params);
        if (!rows[0].result.duplicate) await beforeCommit(client);
        return rows[0].result;
      });
    } catch (error) {
      const pgError = error as { code?: string; detail?: string; constraint?: string };
      if (pgError.code === 'AC001') {
        throw new WrongExpectedVersionError(
          streamId,
          expected === 'no-stream' || expected === 0 ? 'no-stream' : Number(expected),
          Number(pgError.detail),
        );
      }
      // Two appends created the same new stream at once; the loser lands here.
      if (pgError.code === '23505' && pgError.constraint === 'event_streams_pkey') {
        if (expectedSql === null && attempt === 1) {
          return this.callAppend(
            streamId,
            expectedSql,
            commandId,
            batch,
            expected,
            beforeCommit,
            attempt + 1,
          );
        }
        throw new WrongExpectedVersionError(
          streamId,
          expectedSql === 0 ? 'no-stream' : Number(expectedSql),
          await this.streamVersion(streamId),
        );
      }
      throw error;
    }
  }

  private async inTransaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The result a command id was first appended with, or null if it never was. */
  async findCommand(commandId: string): Promise<AppendResult | null> {
    const { rows } = await this.pool.query<{
      stream_id: string;
      versions: string[];
      positions: string[];
      event_ids: string[];
    }>(
      `SELECT min(stream_id) AS stream_id, array_agg(version ORDER BY position) AS versions,
              array_agg(position ORDER BY position) AS positions,
              array_agg(event_id ORDER BY position) AS event_ids
         FROM events WHERE command_id = $1 HAVING count(*) > 0`,
      [commandId],
    );
    if (!rows.length) return null;
    const [row] = rows;
    return {
      streamId: row.stream_id,
      fromVersion: Number(row.versions[0]),
      toVersion: Number(row.versions[row.versions.length - 1]),
      positions: row.positions.map(Number),
      eventIds: row.event_ids,
      duplicate: true,
    };
  }

  /** The stream's current version; 0 when it does not exist. */
  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>(
      'SELECT version FROM event_streams WHERE stream_id = $1',
      [streamId],
    );
    return rows.length ? Number(rows[0].version) : 0;
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE stream_id = $1
          AND ($2::bigint IS NULL OR version <= $2)
          AND ($3::timestamptz IS NULL OR recorded_at <= $3)
        ORDER BY version`,
      [streamId, options.toVersion ?? null, options.recordedUntil ?? null],
    );
    return rows.map((row) => this.toRecorded(row));
  }

  /**
   * Reads the global log after `after`, in position order, never past a position that a
   * transaction still in flight may yet fill.
   *
   * Positions come from a sequence, so a later number can commit first and leave a gap. A gap is
   * either a transaction still in flight or a rolled-back one. To tell them apart the reader
   * takes a fresh transaction id W (the gap's witness) once it has seen the gap: the holder of the
   * missing number took its own id before drawing the number, hence before W. Once the oldest
   * running transaction is not older than W, the holder has ended; if the number is still
   * missing then, it was rolled back and is passed. Until then the reader stops at the gap.
   */
  async readAll(after: number, limit = 500): Promise<GlobalPage> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2`,
      [after, limit],
    );
    const events: RecordedEvent[] = [];
    let last = after;
    for (const row of rows) {
      const position = Number(row.position);
      if (position !== last + 1 && !(await this.gapSettled(last + 1, position - 1))) break;
      events.push(this.toRecorded(row));
      last = position;
    }
    this.forgetWitnessesUpTo(last);
    return { events, nextAfter: last };
  }

  private readonly gapWitnesses = new Map<number, string>();

  /** Whether positions from..to are missing for good (their transactions have ended). */
  private async gapSettled(from: number, to: number): Promise<boolean> {
    let witness = this.gapWitnesses.get(from);
    if (witness === undefined) {
      const { rows } = await this.pool.query<{ xid: string }>('SELECT pg_current_xact_id() AS xid');
      witness = rows[0].xid;
      this.gapWitnesses.set(from, witness);
    }
    const { rows } = await this.pool.query<{ settled: boolean }>(
      `SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8
          AND NOT EXISTS (SELECT 1 FROM events WHERE position BETWEEN $2 AND $3) AS settled`,
      [witness, from, to],
    );
    return rows[0].settled;
  }

  private forgetWitnessesUpTo(position: number): void {
    for (const key of this.gapWitnesses.keys()) {
      if (key <= position) this.gapWitnesses.delete(key);
    }
  }

  /** The highest position committed so far (0 on an empty log). */
  async headPosition(): Promise<number> {
    const { rows } = await this.pool.query<{ position: string | null }>(
      'SELECT max(position) AS position FROM events',
    );
    return Number(rows[0].position ?? 0);
  }

  private toRecorded(row: EventRow): RecordedEvent {
    const { schemaVersion, payload } = this.upcasters.upcast(
      row.type,
      row.schema_version,
      row.payload,
    );
    return {
      position: Number(row.position),
      eventId: row.event_id,
      streamId: row.stream_id,
      version: Number(row.version),
      type: row.type,
      schemaVersion,
      payload,
      metadata: row.metadata,
      recordedAt: row.recorded_at,
    };
  }

  /**
   * Wakes subscription runners. Sent after the commit and outside it, because NOTIFY inside the
   * append would serialise every commit on the notification queue's lock; at most one is in
   * flight and bursts collapse into one more. Losing one costs a poll interval, nothing else.
   */
  private announce(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = this.pool
      .query(`SELECT pg_notify('${EVENTS_CHANNEL}', '')`)
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.notifying = undefined;
        if (this.notifyAgain) {
          this.notifyAgain = false;
          this.announce();
        }
      });
  }

  /** Lets a caller (a test, a shutdown hook) wait until the last wake-up has been sent. */
  async flushNotifications(): Promise<void> {
    while (this.notifying) await this.notifying;
  }
}
