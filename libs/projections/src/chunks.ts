/** `values` in consecutive slices of at most `size`, so that no statement grows without bound. */
export function chunks<T>(values: readonly T[], size: number): T[][] {
  const slices: T[][] = [];
  for (let from = 0; from < values.length; from += size) {
    slices.push(values.slice(from, from + size));
  }
  return slices;
}
