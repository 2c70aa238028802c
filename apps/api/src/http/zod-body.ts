import type { ArgumentMetadata, PipeTransform } from '@nestjs/common';
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
 * (U+0000, an unpaired UTF-16 surrogate): one check for bodies, queries and path parameters
 * alike, rather than a refinement each schema could forget.
 */
export function parseInput<T extends z.ZodType>(
  schema: T,
  value: unknown,
  location: InputLocation,
  prefix: PropertyKey[] = [],
): z.output<T> {
  const refused = unstorableStrings(value, prefix);
  if (refused.length)
    throw new ApiProblem(
      400,
      'validation-failed',
      'Validation failed',
      `The request ${location === 'custom' ? 'input' : location} is invalid.`,
      {
        errors: refused.map((path) => ({
          field: path.map(String).join('.') || location,
          message: 'must not contain NUL characters or unpaired surrogates',
        })),
      },
    );
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw validationProblem(result.error, location, prefix);
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

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || UNPAIRED_SURROGATE.test(text);

/** The paths of the strings (keys included) in `value` that PostgreSQL cannot hold. */
function unstorableStrings(value: unknown, path: PropertyKey[], found: PropertyKey[][] = []) {
  if (typeof value === 'string') {
    if (unstorable(value)) found.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => unstorableStrings(item, [...path, index], found));
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (unstorable(key)) found.push([...path, key]);
      else unstorableStrings(item, [...path, key], found);
    }
  }
  return found;
}
