/** What a CLI command prints: results on stdout, progress and errors on stderr. */
export interface CliOutput {
  info(line: string): void;
  error(line: string): void;
  /** Rewrites one status line in place on a terminal; prints nothing when piped. */
  progress(line: string): void;
  progressDone(): void;
}

export function consoleOutput(): CliOutput {
  const tty = process.stderr.isTTY;
  let shown = false;
  return {
    info: (line) => process.stdout.write(`${line}\n`),
    error: (line) => process.stderr.write(`${line}\n`),
    progress: (line) => {
      if (!tty) return;
      process.stderr.write(`\r${line}\x1b[K`);
      shown = true;
    },
    progressDone: () => {
      if (shown) process.stderr.write('\n');
      shown = false;
    },
  };
}
