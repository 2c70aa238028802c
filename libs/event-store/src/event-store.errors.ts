/** Another append reached the stream first, or the caller's view of it is stale. */
export class WrongExpectedVersionError extends Error {
  readonly code = 'wrong-expected-version';
  constructor(
    readonly streamId: string,
    readonly expected: number | 'no-stream',
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at version ${actual}, expected ${String(expected)}`);
    this.name = 'WrongExpectedVersionError';
  }
}

/** A command id was reused for a different stream: a client bug, never a retry. */
export class CommandIdReusedError extends Error {
  readonly code = 'command-id-reused';
  constructor(
    readonly commandId: string,
    readonly firstStreamId: string,
    readonly streamId: string,
  ) {
    super(`Command ${commandId} was already used on stream ${firstStreamId}, not ${streamId}`);
    this.name = 'CommandIdReusedError';
  }
}
