/**
 * The same JSON value with every object's keys in reverse order, at any depth (arrays keep
 * theirs): what a client sends when it retries a request rebuilt from a map, or serialized by
 * another JSON library. Throws when that changes nothing, so that a test cannot pass by sending
 * the very text it sent first.
 */
export function reversedKeys<T>(value: T): T {
  const reversed = reverse(value) as T;
  if (JSON.stringify(reversed) === JSON.stringify(value))
    throw new Error('reversedKeys: the value has no object with two keys to reorder');
  return reversed;
}

function reverse(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverse);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, item]) => [key, reverse(item)]),
  );
}
