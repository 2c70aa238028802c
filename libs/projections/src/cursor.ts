import { isInStorableRange } from '@app/domain';

/**
 * Opaque keyset cursors for lists ordered by an instant and then by tie-breaking keys (ids or
 * positions): base64url of `[instant, ...keys]`. Clients pass back what they were given.
 */
export interface Cursor {
  at: Date;
  keys: string[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const POSITION = /^\d{1,18}$/;

/** The tie-breaking keys each list's cursor carries. */
export const CURSOR_KEYS = {
  /** Suspension ends: suspension id, measure id. */
  suspensionEnds: [UUID, UUID],
  /** Timeline: the fact's global position. */
  timeline: [POSITION],
} as const;

export function encodeCursor(at: Date, keys: Array<string | number>): string {
  return Buffer.from(JSON.stringify([at.toISOString(), ...keys.map(String)])).toString('base64url');
}

/** The cursor, or null when `value` is not one this list handed out. */
export function decodeCursor(value: string, keys: readonly RegExp[]): Cursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== keys.length + 1) return null;
    if (!parsed.every((part): part is string => typeof part === 'string')) return null;
    const [at, ...rest] = parsed;
    const instant = new Date(at);
    // Only instants a list hands out (a forged one beyond the range would fail in SQL).
    if (!isInStorableRange(instant)) return null;
    return rest.every((key, index) => keys[index].test(key)) ? { at: instant, keys: rest } : null;
  } catch {
    return null;
  }
}

/** A cursor the list it was given to did not hand out. */
export class InvalidCursorError extends Error {
  override readonly name = 'InvalidCursorError';

  constructor(readonly cursor: string) {
    super(`Not a cursor of this list: ${cursor}`);
  }
}

/** The cursor a client passed back (none: the first page); InvalidCursorError if it is not one. */
export function readCursor(value: string | undefined, keys: readonly RegExp[]): Cursor | null {
  if (value === undefined) return null;
  const cursor = decodeCursor(value, keys);
  if (!cursor) throw new InvalidCursorError(value);
  return cursor;
}
