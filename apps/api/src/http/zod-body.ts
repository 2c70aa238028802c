import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
import { textRefusal } from '@app/domain';
import { z } from 'zod';
import { ApiProblem } from './api-problem';

/** One offending field: a dotted path (`rate.percent`, `sources.0.url`) and what is wrong. */
export interface FieldError {
  field: string;
  message: string;
}

/** Where the value came from; names the field when the whole value is wrong. */
export type InputLocation = 'body' | 'query' | 'param' | 'custom';

/** The 400 `validation-failed` problem for a zod error, one entry per offending field. */
export function validationProblem(
  error: z.ZodError,
  location: InputLocation = 'body',
  prefix: PropertyKey[] = [],
): ApiProblem {
  return new ApiProblem(
    400,
    'validation-failed',
    'Validation failed',
    `The request ${location === 'custom' ? 'input' : location} is invalid.`,
    { errors: fieldErrors(error, prefix, location) },
  );
}

/**
 * Parses `value` with `schema`, or throws the 400 problem that names every offending field.
 * Every string of every input is first checked for what PostgreSQL cannot store or compare
 * (U+0000, an unpaired UTF-16 surrogate) and for the other control characters no text Accord
 * keeps has a use for (C0 but tab, line feed and carriage return; DEL), which would come out
 * raw in the CSV export and break the iCalendar feed (RFC 5545 TEXT excludes them): one check
 * for bodies, queries and path parameters alike, rather than a refinement each schema could
 * forget.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  location: InputLocation,
  prefix: PropertyKey[] = [],
): z.output<T> {
  ensureStorable(value, location, prefix);
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationProblem(result.error, location, prefix);
}

/**
 * Throws the 400 problem for an input nested deeper than any request Accord takes, or holding
 * strings PostgreSQL cannot store or control characters. `parseInput` runs it first; so must anything else that walks
 * a raw body before its schema does (the idempotency fingerprint serializes it).
 */
export function ensureStorable(
  value: unknown,
  location: InputLocation,
  prefix: PropertyKey[] = [],
): void {
  const { found: refused, tooDeep } = unstorableStrings(value, prefix);
  if (tooDeep)
    throw new ApiProblem(
      400,
      'validation-failed',
      'Validation failed',
      `The request ${location === 'custom' ? 'input' : location} is invalid.`,
      {
        errors: [
          {
            field: tooDeep.map(String).join('.') || location,
            message: `must not nest more than ${MAX_DEPTH} levels deep`,
          },
        ],
      },
    );
  if (refused.length)
    throw new ApiProblem(
      400,
      'validation-failed',
      'Validation failed',
      `The request ${location === 'custom' ? 'input' : location} is invalid.`,
      {
        errors: refused.map(({ path, message }) => ({
          field: path.map(String).join('.') || location,
          message,
        })),
      },
    );
}

/** `parseBody(schema, body)` in a controller; use `z.strictObject` so unknown fields fail. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  return parseInput(schema, body, 'body');
}

export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.output<T> {
  return parseInput(schema, query, 'query');
}

/**
 * `@Body(new ZodPipe(schema))`, `@Query(new ZodPipe(schema))`, `@Param('id', new ZodPipe(...))`:
 * the parsed (and transformed) value, or a 400 `validation-failed` problem.
 */
export class ZodPipe<T extends z.ZodType> implements PipeTransform<unknown, z.output<T>> {
  /** Public for the OpenAPI document, which describes query parameters from it. */
  constructor(readonly schema: T) {}

  transform(value: unknown, metadata: ArgumentMetadata): z.output<T> {
    return parseInput(this.schema, value, metadata.type, metadata.data ? [metadata.data] : []);
  }
}

function fieldErrors(error: z.ZodError, prefix: PropertyKey[], location: string): FieldError[] {
  const name = (path: PropertyKey[]) => [...prefix, ...path].map(String).join('.') || location;
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ field: name([...issue.path, key]), message: 'Unknown field' }))
      : [{ field: name(issue.path), message: issue.message }],
  );
}

/**
 * Deeper than any request Accord takes (a command body is a handful of levels): refused before
 * anything walks it, so that no check recurses as deep as a client cares to nest.
 */
const MAX_DEPTH = 32;

/** A refused string (or key) and why. */
interface Refused {
  path: PropertyKey[];
  message: string;
}

/** A value met while walking the input, with the way back to its parent for its path. */
interface Visit {
  value: unknown;
  key: PropertyKey | undefined;
  parent: Visit | undefined;
  depth: number;
}

function pathOf(visit: Visit, prefix: PropertyKey[]): PropertyKey[] {
  const keys: PropertyKey[] = [];
  for (let at: Visit | undefined = visit; at?.key !== undefined; at = at.parent) keys.push(at.key);
  return [...prefix, ...keys.reverse()];
}

/**
 * The paths of the strings (keys included) in `value` that are refused (PostgreSQL cannot hold
 * them, or they hold control characters), each with why, or `tooDeep`
 * with the path where nesting passed `MAX_DEPTH`. Walked with a stack of its own, not by
 * recursion: a body of a few kilobytes can nest thousands of levels deep.
 */
function unstorableStrings(
  value: unknown,
  prefix: PropertyKey[],
): { found: Refused[]; tooDeep?: PropertyKey[] } {
  const found: Refused[] = [];
  const stack: Visit[] = [{ value, key: undefined, parent: undefined, depth: 0 }];
  for (let visit = stack.pop(); visit; visit = stack.pop()) {
    const item = visit.value;
    // A refused key is reported in its place, its value left unread.
    const keyRefusal = typeof visit.key === 'string' ? textRefusal(visit.key) : undefined;
    if (keyRefusal) {
      found.push({ path: pathOf(visit, prefix), message: keyRefusal });
      continue;
    }
    if (typeof item === 'string') {
      const message = textRefusal(item);
      if (message) found.push({ path: pathOf(visit, prefix), message });
      continue;
    }
    if (item === null || typeof item !== 'object') continue;
    if (visit.depth >= MAX_DEPTH) return { found, tooDeep: pathOf(visit, prefix) };
    const entries: Array<[PropertyKey, unknown]> = Array.isArray(item)
      ? item.map((child, index) => [index, child])
      : Object.entries(item);
    // Pushed in reverse, so that fields are reported in the order the client wrote them.
    for (let index = entries.length - 1; index >= 0; index -= 1) {
      const [key, child] = entries[index];
      stack.push({ value: child, key, parent: visit, depth: visit.depth + 1 });
    }
  }
  return { found };
}
