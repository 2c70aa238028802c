/** Who did what, why, and on what authority: stored beside every event. */
export interface EventMetadata {
  actor?: string;
  commandId?: string;
  correlationId?: string;
  causationId?: string;
  sources?: unknown[];
  [key: string]: unknown;
}

export interface NewEvent {
  type: string;
  payload: Record<string, unknown>;
  /** Defaults to 1. Bump it when a payload changes shape and register an upcaster. */
  schemaVersion?: number;
  /** Generated when omitted. */
  eventId?: string;
  metadata?: EventMetadata;
}

export interface RecordedEvent {
  position: number;
  eventId: string;
  streamId: string;
  version: number;
  type: string;
  /** The version after upcasting, i.e. the shape `payload` now has. */
  schemaVersion: number;
  payload: Record<string, unknown>;
  metadata: EventMetadata;
  recordedAt: Date;
}

/** `'any'`, `'no-stream'` or the exact current version of the stream (0 = no stream). */
export type ExpectedVersion = 'any' | 'no-stream' | number;

export interface AppendOptions {
  expectedVersion?: ExpectedVersion;
  /** Makes the append idempotent: a retry with the same id returns the first result. */
  commandId?: string;
  /** Merged into every event's metadata. */
  metadata?: EventMetadata;
  /**
   * Runs in the append's transaction after the events are written (not on a duplicate), e.g. to
   * claim a unique code in a write-side index; if it throws, nothing is appended.
   */
  beforeCommit?: (transaction: SqlClient) => Promise<void>;
}

/** The part of a pg client that `beforeCommit` may use. */
export interface SqlClient {
  query<R extends object = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

export interface AppendResult {
  streamId: string;
  fromVersion: number;
  /** The stream's version after the append. */
  toVersion: number;
  /** Global positions of the appended events, in order; the last is the one to wait for. */
  positions: number[];
  eventIds: string[];
  /** True when this command id had already been appended and nothing new was written. */
  duplicate: boolean;
}

export interface ReadStreamOptions {
  /** Read up to and including this version. */
  toVersion?: number;
  /** Only events recorded at or before this instant (transaction time). */
  recordedUntil?: Date;
}

/** Which events of a stream `EventStore.readStreamPart` reads. */
export interface StreamPart {
  /** Only events after this version (0: from the first). */
  after?: number;
  /** At most this many. */
  limit?: number;
  /** Every event of these types as well, wherever it stands in the stream. */
  alongWith?: string[];
}

export interface GlobalPage {
  events: RecordedEvent[];
  /** Where the next read continues from: the last position returned or passed. */
  nextAfter: number;
}

/** Where a stream-ordered read stopped: the last event it returned. */
export interface StreamCursor {
  streamId: string;
  version: number;
}

export interface StreamPage {
  events: RecordedEvent[];
  /** Pass it back to read on; null when the page was empty. */
  next: StreamCursor | null;
}
