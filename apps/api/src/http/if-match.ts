import type { FastifyRequest } from 'fastify';
import { ApiProblem } from './api-problem';

/** `*`: any current version will do, as long as the resource exists. */
export type IfMatch = '*' | readonly number[];

/** More tags than a client can mean. */
const MAX_TAGS = 32;
/**
 * One entity tag, compared on the version it leads with: `"3"`, `W/"3"`, a read's
 * `W/"3.<digest>"` (see `readEntityTag`), or a bare `3` as older clients send it. The version
 * as Accord writes it, without leading zeros: `"011"` is a tag Accord never issued, no `"11"`.
 */
const ENTITY_TAG =
  /^(?:W\/)?(?:"(0|[1-9]\d{0,14})(?:\.[\w-]{1,64})?"|(0|[1-9]\d{0,14})(?:\.[\w-]{1,64})?)$/;
/**
 * Any other well-formed entity tag (RFC 9110 §8.8.3: printable characters but `"`, quoted): not
 * one Accord hands out, so it names no version, and a precondition made of such tags fails (412)
 * rather than being refused as malformed (400).
 */
const FOREIGN_ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]{0,256}"$/;
/**
 * One list element and what follows it up to the next comma: a quoted tag (which may hold
 * commas, RFC 9110 §8.8.3), or a bare token (`*`, an older client's `3`) up to the comma.
 */
const LIST_ELEMENT = /[ \t]*(?:((?:W\/)?"[^"]*"|[^",\s]+)[ \t]*)?(?:,|$)/y;
/**
 * Longer than any list of `MAX_TAGS` tags a client holds. Refused before parsing, so that no
 * header, however crafted, costs more than a glance.
 */
const MAX_LENGTH = 4096;

/**
 * `If-Match` (RFC 9110 §13.1.1): `*` or a list of entity tags, the precondition holding when
 * any of them names the current version. Empty list elements are ignored, as §5.6.1 asks.
 */
export function parseIfMatch(value: string | undefined): IfMatch | undefined {
  if (value === undefined) return undefined;
  const elements = value.length > MAX_LENGTH ? [null] : listElements(value);
  if (elements.length === 1 && elements[0] === '*') return '*';
  const versions = elements.map((element) => (element === null ? null : ENTITY_TAG.exec(element)));
  const wellFormed = (element: string | null, index: number) =>
    element !== null && (versions[index] !== null || FOREIGN_ENTITY_TAG.test(element));
  if (elements.length === 0 || elements.length > MAX_TAGS || !elements.every(wellFormed)) {
    throw new ApiProblem(
      400,
      'invalid-if-match',
      'Invalid If-Match',
      `If-Match must be * or a list of at most ${MAX_TAGS} ETags of the resource, e.g. "3" or "3", "4".`,
    );
  }
  // Foreign tags match nothing: a list of only those is a precondition no version meets.
  return [...new Set(versions.flatMap((m) => (m === null ? [] : [Number(m[1] ?? m[2])])))];
}

/**
 * The elements of a comma-separated list, empty ones dropped (§5.6.1); null for one that is not
 * a quoted tag or a token followed by a comma or the end (`"3"x`, an unclosed quote).
 */
function listElements(value: string): Array<string | null> {
  const elements: Array<string | null> = [];
  LIST_ELEMENT.lastIndex = 0;
  while (LIST_ELEMENT.lastIndex < value.length) {
    const match = LIST_ELEMENT.exec(value);
    if (!match) return [...elements, null];
    if (match[1] !== undefined) elements.push(match[1]);
  }
  return elements;
}

/**
 * The versions a write may find, from the request's `If-Match`: undefined without one or with
 * `*` (every write to an existing resource checks that it exists anyway). The write side
 * compares the version it loads with them and appends on top of that one, so a change in
 * between is still a conflict.
 */
export function expectedVersionOf(request: FastifyRequest): readonly number[] | undefined {
  const ifMatch = ifMatchOf(request);
  return ifMatch === undefined || ifMatch === '*' ? undefined : ifMatch;
}

function ifMatchOf(request: FastifyRequest): IfMatch | undefined {
  const header = request.headers['if-match'];
  return parseIfMatch(Array.isArray(header) ? header.join(', ') : header);
}
