/**
 * A JSON value as `JSON.stringify` writes it, but with every object's keys in sorted order at
 * any depth (as JavaScript compares strings, by UTF-16 code unit; any fixed order would do, since
 * it is applied to what the server parsed). Arrays keep their order, numbers and strings are
 * written as JSON writes them, and keys are not Unicode-normalized: `"é"` and `"e\u0301"` are
 * two keys in JSON, so two requests here.
 *
 * For a value as JSON.parse (or a YAML parser) gives it; the caller bounds its depth. Used
 * wherever two writings of one JSON value must compare equal: an `Idempotency-Key`'s request,
 * a dataset operation.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const members: string[] = [];
    for (const key of Object.keys(value).sort(byCodeUnit)) {
      const item = (value as Record<string, unknown>)[key];
      // Dropped as JSON.stringify drops it (no parsed body holds one).
      if (item !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(item)}`);
    }
    return `{${members.join(',')}}`;
  }
  // undefined inside an array is null there, as JSON.stringify writes it.
  return JSON.stringify(value) ?? 'null';
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
