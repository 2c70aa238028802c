import { ensure } from './domain-error';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// A code appears in URLs in place of an id, so it must be URL-safe and never look like a UUID.
const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

export function toId(value: unknown, field: string): string {
  ensure(
    typeof value === 'string' && value.trim() === value && value.length > 0 && value.length <= 200,
    'invalid-id',
    `${field} must be a non-empty string without surrounding spaces`,
    { field, value },
  );
  return value;
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A human code (`us-reciprocal-cn`): unique, stable, usable in URLs wherever an id is. */
export function toCode(value: unknown, field = 'code'): string {
  ensure(
    typeof value === 'string' && CODE.test(value) && !isUuid(value),
    'invalid-code',
    `${field} must be 1–80 letters, digits, '.', '_' or '-', start with a letter or digit, and not be a UUID`,
    { field, value },
  );
  return value;
}
