import { ApiProblem } from './api-problem';

export type ParsedQuery = Record<string, string | string[]>;

/** The parameters of each parsed query whose name or value was not percent-encoded UTF-8. */
const malformedParameters = new WeakMap<ParsedQuery, string[]>();

/**
 * `text` with `+` read as a space and percent-decoded as UTF-8, or undefined when it is not
 * valid percent-encoded UTF-8: a `%` not followed by two hex digits, or bytes that are no UTF-8
 * sequence (`%FF`, a truncated, overlong or surrogate one).
 */
function decodeComponent(text: string): string | undefined {
  const spaced = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return undefined;
  }
}

/**
 * The router's query string parser (Fastify's `querystringParser`): pairs split on `&`, each
 * at its first `=`, `+` a space, a name given more than once an array of its values, into an
 * object without a prototype, as Fastify's own parser (fast-querystring) reads them. That one
 * keeps a sequence it cannot decode as it was sent, so `q=%FF` searched for the text `%FF`;
 * this one notes the parameter, and the request is refused (see queryEncodingProblem). It cannot throw
 * instead: the router calls it outside any handler that would answer the error.
 */
export function parseQueryString(query: string): ParsedQuery {
  const parsed: ParsedQuery = Object.create(null) as ParsedQuery;
  const malformed: string[] = [];
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const rawName = equals === -1 ? pair : pair.slice(0, equals);
    const rawValue = equals === -1 ? '' : pair.slice(equals + 1);
    const name = decodeComponent(rawName);
    const value = decodeComponent(rawValue);
    if (name === undefined || value === undefined) malformed.push(name ?? rawName);
    const key = name ?? rawName;
    const current = parsed[key];
    const added = value ?? rawValue;
    if (current === undefined) parsed[key] = added;
    else if (Array.isArray(current)) current.push(added);
    else parsed[key] = [current, added];
  }
  if (malformed.length > 0) malformedParameters.set(parsed, malformed);
  return parsed;
}

/**
 * The problem of a request whose query string `parseQueryString` could not decode, for a
 * `preValidation` hook (after the route's own checks of the caller, such as the queue
 * dashboard's key): 400 `invalid-query-encoding`, naming each parameter, as a body that is not
 * UTF-8 is a 400 `invalid-body-encoding`. Decoded leniently, its text would reach a search, a
 * filter or a token lookup as something the client never sent.
 */
export function queryEncodingProblem(query: unknown): ApiProblem | undefined {
  const malformed =
    typeof query === 'object' && query !== null
      ? malformedParameters.get(query as ParsedQuery)
      : undefined;
  if (!malformed) return undefined;
  return new ApiProblem(
    400,
    'invalid-query-encoding',
    'Invalid query encoding',
    'The query string is not valid percent-encoded UTF-8: send each byte outside ASCII as %XX, ' +
      'of a UTF-8 sequence, and a percent sign itself as %25.',
    {
      errors: malformed.map((field) => ({
        field,
        message: 'is not valid percent-encoded UTF-8',
      })),
    },
  );
}
