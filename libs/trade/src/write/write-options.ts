/** What every write carries besides its command: who, and the HTTP preconditions. */
export interface WriteOptions {
  /** The acting API key's name (or `system`), stored as each event's actor. */
  actor: string;
  /**
   * `If-Match`: the stream version the client last saw, or the versions it would write on top
   * of (a list of ETags holds when any names the current version); a mismatch is a conflict.
   */
  expectedVersion?: number | readonly number[];
  /**
   * Makes the write idempotent: a retry with the same id returns the first result and
   * appends nothing. The api derives it from `Idempotency-Key` and the key's id.
   */
  commandId?: string;
  correlationId?: string;
  /**
   * A digest of the request that carried the idempotency key: a retry must send the same
   * request; the same key on a different one is refused rather than answered with the first.
   */
  requestFingerprint?: string;
  causationId?: string;
  /** The decision clock; tests and the importer pass their own. */
  now?: Date;
}

/** SPEC §4 write response: `{ id, version, position, eventIds, … }`. */
export interface WriteResult {
  id: string;
  version: number;
  /** Global position of the last event written: pass it as `minPosition` to read your write. */
  position: number;
  eventIds: string[];
  /** Set when a suspension (or exclusion, commitment, claim) was created by this write. */
  suspensionId?: string;
  exclusionId?: string;
  commitmentId?: string;
  claimId?: string;
  /** True when this was a retry of an earlier command and nothing new was written. */
  replayed: boolean;
}
