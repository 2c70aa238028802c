/**
 * A PostgreSQL array literal (`{a,b,NULL}`) of values that need no quoting: uuids, numbers,
 * booleans, and words of letters, digits, `_` and `-` (never the word `NULL`). Passed as a text
 * parameter and cast (`$1::uuid[]`), it spares node-postgres escaping each element of large
 * arrays (a visible share of a busy deliverer's time). Anything else must go as a plain array.
 */
export function plainArray(values: ReadonlyArray<string | number | boolean | null>): string {
  let literal = '{';
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i];
    if (i > 0) literal += ',';
    literal += value === null ? 'NULL' : value === true ? 't' : value === false ? 'f' : value;
  }
  return `${literal}}`;
}
