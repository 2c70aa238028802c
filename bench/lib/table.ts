/** Prints a GitHub-flavoured markdown table, so the output can be pasted into docs as is. */
export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, i) =>
    Math.max(header.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (cell ?? '').padEnd(widths[i])).join(' | ')} |`;
  console.log(line(headers));
  console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
}

export const rate = (perSecond: number): string => Math.round(perSecond).toLocaleString('en-US');
export const ms = (value: number): string => (Number.isNaN(value) ? '–' : value.toFixed(2));
export const ratio = (value: number): string => `${value.toFixed(2)}×`;
export const percent = (value: number): string => `${(value * 100).toFixed(0)}%`;
