/**
 * Node's error for a request body cut off by the client closing its connection: nobody to
 * answer, and nothing wrong on this side (any client could fill the error log by hanging up).
 */
export function clientWentAway(
  exception: unknown,
  request: { raw: { destroyed: boolean; socket?: { destroyed: boolean } | null } },
): boolean {
  const { code, message } = (exception ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ECONNRESET' &&
    message === 'aborted' &&
    (request.raw.destroyed || request.raw.socket?.destroyed === true)
  );
}
