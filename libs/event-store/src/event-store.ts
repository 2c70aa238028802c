import { randomUUID } from 'node:crypto';
import { Client, type Pool, type PoolClient } from 'pg';
import { CommandIdReusedError, WrongExpectedVersionError } from './event-store.errors';
import type {
  AppendOptions,
  AppendResult,
  EventMetadata,
  GlobalPage,
  NewEvent,
  ReadStreamOptions,
  StreamPart,
  RecordedEvent,
  StreamCursor,
  StreamPage,
} from './event-store.types';
import { APPENDS_IN_FLIGHT } from './appends-in-flight';
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

const MAX_ANY_VERSION_ATTEMPTS = 10;

const EVENT_COLUMNS =
  'position, event_id, stream_id, version, type, schema_version, payload, metadata, recorded_at';

/** How long `settledHead` waits before it tells its caller it is waiting. */
const SETTLE_NOTICE_MS = 1000;

/**
 * The PostgreSQL event store. All guarantees (immutability, expected versions, idempotent command
 * ids, a global order without skips, hash chains) are enforced by the schema and by the
 * `accord_append` function of the event-store migration; this class is the typed door to them.
 */
export class EventStore {
  private notifying: Promise<void> | undefined;
  private notifyAgain = false;
  private notifier: Promise<Client> | undefined;
  private closed = false;

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
    // A named statement: parsed and planned once per connection.
    const statement = {
      name: 'accord_append',
      text: 'SELECT accord_append($1, $2, $3, $4) AS result',
      values: [streamId, expectedSql, commandId ?? null, JSON.stringify(batch)],
    };
    try {
      return await this.withClient(async (client) => {
        if (!beforeCommit) {
          const { rows } = await client.query<{ result: AppendResult }>(statement);
          return rows[0].result;
        }
        await client.query('BEGIN');
        try {
          const { rows } = await client.query<{ result: AppendResult }>(statement);
          if (!rows[0].result.duplicate) await beforeCommit(client);
          await client.query('COMMIT');
          return rows[0].result;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      });
    } catch (error) {
      const pgError = error as { code?: string; detail?: string; constraint?: string };
      // Another append took the same version between our read of the head and our insert.
      const lostRace =
        pgError.code === '23505' && pgError.constraint === 'events_stream_id_version_key';
      // The same command may have won the race that made this attempt fail.
      if (commandId && (pgError.code === 'AC004' || pgError.code === 'AC001' || lostRace)) {
        const first = await this.findCommand(commandId);
        if (first) return first;
      }
      if (pgError.code === 'AC001') {
        throw new WrongExpectedVersionError(
          streamId,
          expected === 'no-stream' || expected === 0 ? 'no-stream' : Number(expected),
          Number(pgError.detail),
        );
      }
      if (lostRace) {
        // With "any" the caller does not care which version it gets: take the next one.
        if (expectedSql === null && attempt < MAX_ANY_VERSION_ATTEMPTS) {
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

  /**
   * Runs on a client checked out of the pool and released without an error, so that a failed
   * statement (a version conflict is one) does not make the pool close the connection, as
   * `pool.query` does: reconnecting after every conflict was the hot-stream bottleneck.
   */
  private async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      // A SQL error carries a SQLSTATE and leaves the connection usable; anything else may not.
      if (!(error as { code?: string }).code) broken = error as Error;
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** The result a command id was first appended with, or null if it never was. */
  async findCommand(commandId: string): Promise<AppendResult | null> {
    const { rows } = await this.pool.query<{ result: AppendResult | null }>(
      'SELECT accord_command_result($1) AS result',
      [commandId],
    );
    return rows[0].result;
  }

  /** The stream's current version; 0 when it does not exist. */
  async streamVersion(streamId: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: string }>(
      'SELECT coalesce(max(version), 0) AS version FROM events WHERE stream_id = $1',
      [streamId],
    );
    return Number(rows[0].version);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    // Prepared once per connection: every write and every knownAt read starts here.
    const { rows } = await this.pool.query<EventRow>({
      name: 'event-store-read-stream',
      text: `SELECT ${EVENT_COLUMNS} FROM events
              WHERE stream_id = $1
                AND ($2::bigint IS NULL OR version <= $2)
                AND ($3::timestamptz IS NULL OR recorded_at <= $3)
              ORDER BY version`,
      values: [streamId, options.toVersion ?? null, options.recordedUntil ?? null],
    });
    return rows.map((row) => this.toRecorded(row));
  }

  /**
   * Part of a stream, in version order: the events after version `after`, `limit` at most; and,
   * in the same read (one snapshot), every event of the stream of the types `alongWith` names,
   * wherever they stand. For paging through a long history without reading all of it, when a
   * page needs some kinds of events whole (the retractions that decide what it shows).
   */
  async readStreamPart(
    streamId: string,
    part: StreamPart = {},
  ): Promise<{ events: RecordedEvent[]; alongWith: RecordedEvent[] }> {
    const { rows } = await this.pool.query<EventRow & { along: boolean }>({
      name: 'event-store-read-stream-part',
      text: `(SELECT ${EVENT_COLUMNS}, false AS along FROM events
                WHERE stream_id = $1 AND version > $2 ORDER BY version LIMIT $3)
             UNION ALL
             (SELECT ${EVENT_COLUMNS}, true AS along FROM events
                WHERE stream_id = $1 AND type = ANY($4))
             ORDER BY along, version`,
      values: [streamId, part.after ?? 0, part.limit ?? null, part.alongWith ?? []],
    });
    const events: RecordedEvent[] = [];
    const alongWith: RecordedEvent[] = [];
    for (const row of rows) (row.along ? alongWith : events).push(this.toRecorded(row));
    return { events, alongWith };
  }

  /**
   * Reads the global log after `after`, in position order, never past a position that a
   * transaction still in flight may yet fill.
   *
   * Positions come from a sequence, so a later number can commit first and leave a gap. A gap is
   * either an append still in flight or a rolled-back one. To tell them apart the reader notes,
   * once it has seen the gap, which appends are in flight (their witnesses, see
   * appends-in-flight.ts): the holder of the missing number drew it before the later number that
   * is already visible, so it is among them unless it has ended. Once none of them is in flight,
   * a number still missing was rolled back and is passed. Until then the reader stops at the gap.
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

  /** The appends in flight when each gap (by its first number) was seen. */
  private readonly gapWitnesses = new Map<number, string[]>();

  /** Whether positions from..to are missing for good (their appends have ended). */
  private async gapSettled(from: number, to: number): Promise<boolean> {
    let witnesses = this.gapWitnesses.get(from);
    if (witnesses === undefined) {
      witnesses = await this.appendsInFlight();
      this.gapWitnesses.set(from, witnesses);
    }
    if (!(await this.appendsEnded(witnesses))) return false;
    // A later statement, hence a later snapshot: a holder that committed before the check above
    // is visible here.
    const { rows } = await this.pool.query<{ missing: boolean }>(
      'SELECT NOT EXISTS (SELECT 1 FROM events WHERE position BETWEEN $1 AND $2) AS missing',
      [from, to],
    );
    return rows[0].missing;
  }

  private async appendsInFlight(): Promise<string[]> {
    const { rows } = await this.pool.query<{ appends: string[] }>(
      `SELECT coalesce(array_agg(virtualtransaction), '{}') AS appends FROM (${APPENDS_IN_FLIGHT}) a`,
    );
    return rows[0].appends;
  }

  private async appendsEnded(witnesses: string[]): Promise<boolean> {
    if (!witnesses.length) return true;
    const { rows } = await this.pool.query<{ ended: boolean }>(
      `SELECT NOT EXISTS (${APPENDS_IN_FLIGHT} AND virtualtransaction = ANY($1::text[])) AS ended`,
      [witnesses],
    );
    return rows[0].ended;
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

  /**
   * A position at or below which the log is final: every number up to it is committed or rolled
   * back for good. It is the head when called; the wait is for the appends in flight then, which
   * may still hold a smaller number (the gap rule of `readAll`, applied to every gap below the
   * head at once), so it lasts as long as the longest of them.
   */
  async settledHead(pollMs = 20, onWaiting?: (waitedMs: number) => void): Promise<number> {
    // pg_locks is read after the statement's snapshot is taken: an append that drew a number
    // below the head and has not committed by then is among the witnesses.
    const { rows } = await this.pool.query<{ position: string | null; appends: string[] }>(
      `SELECT (SELECT max(position) FROM events) AS position,
              (SELECT coalesce(array_agg(virtualtransaction), '{}') FROM (${APPENDS_IN_FLIGHT}) a)
                AS appends`,
    );
    const started = Date.now();
    let told = false;
    while (!(await this.appendsEnded(rows[0].appends))) {
      // An append held open by its caller holds the head back: a caller that waits long is
      // told, once, so that its operator can look for it.
      const waited = Date.now() - started;
      if (!told && waited >= SETTLE_NOTICE_MS) {
        told = true;
        onWaiting?.(waited);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
    return Number(rows[0].position ?? 0);
  }

  /**
   * The events at or below `upTo` (a settled head) stream by stream, each stream in version
   * order, streams in id order, after `after` (the last event of the previous page). For readers
   * whose result does not depend on how streams interleave, such as a projection rebuilt from
   * zero, which can then write each row once.
   */
  async readByStream(upTo: number, after: StreamCursor | null, limit = 1000): Promise<StreamPage> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
        WHERE position <= $1 AND (stream_id, version) > ($2, $3)
        ORDER BY stream_id, version LIMIT $4`,
      [upTo, after?.streamId ?? '', after?.version ?? 0, limit],
    );
    const events = rows.map((row) => this.toRecorded(row));
    const last = events[events.length - 1];
    return { events, next: last ? { streamId: last.streamId, version: last.version } : null };
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
   * append would serialise every commit on the notification queue's lock, and on a connection of
   * its own, so that appends never queue behind it in the pool. At most one is in flight and a
   * burst collapses into one more. Losing one costs a poll interval, nothing else.
   */
  private announce(): void {
    if (this.notifying) {
      this.notifyAgain = true;
      return;
    }
    this.notifying = this.sendNotification().finally(() => {
      this.notifying = undefined;
      if (this.notifyAgain && !this.closed) {
        this.notifyAgain = false;
        this.announce();
      }
    });
  }

  private async sendNotification(): Promise<void> {
    try {
      if (!this.notifier) {
        // The pool's own kind of client (a timeout of its own, see libs/database), if it has one.
        const Kind = (this.pool.options as { Client?: typeof Client }).Client ?? Client;
        const client = new Kind(this.pool.options);
        client.on('error', () => {
          if (this.notifier === connecting) this.notifier = undefined;
        });
        const connecting = client.connect().then(() => client);
        this.notifier = connecting;
      }
      const client = await this.notifier;
      await client.query(`SELECT pg_notify('${EVENTS_CHANNEL}', '')`);
    } catch {
      this.notifier = undefined;
    }
  }

  /** Waits for the last wake-up to be sent and closes the notification connection. */
  async close(): Promise<void> {
    while (this.notifying) await this.notifying;
    this.closed = true;
    const notifier = this.notifier;
    this.notifier = undefined;
    if (notifier) await (await notifier.catch(() => undefined))?.end().catch(() => undefined);
  }
}
