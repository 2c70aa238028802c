/** Nearest-rank percentile of an ascending array (p in 0..100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

export function ascending(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

/** What one timed run did: operations that succeeded (with their latency) and conflicts. */
export class Recorder {
  readonly latenciesMs: number[] = [];
  /** Latency of a whole command, retries included (hot-stream runs only). */
  readonly commandLatenciesMs: number[] = [];
  events = 0;
  conflicts = 0;

  ok(latencyMs: number, events = 1): void {
    this.latenciesMs.push(latencyMs);
    this.events += events;
  }

  conflict(): void {
    this.conflicts += 1;
  }

  command(latencyMs: number): void {
    this.commandLatenciesMs.push(latencyMs);
  }
}

export interface RunSummary {
  eventsPerSecond: number;
  events: number;
  elapsedMs: number;
  p50Ms: number;
  p99Ms: number;
  conflicts: number;
  attempts: number;
  /** Conflicts / attempts. */
  conflictRate: number;
  commandP50Ms: number;
  commandP99Ms: number;
  /** Kept so that percentiles over several runs are computed over all samples. */
  latenciesMs: number[];
  commandLatenciesMs: number[];
}

export function summarize(recorder: Recorder, elapsedMs: number): RunSummary {
  const sorted = ascending(recorder.latenciesMs);
  const commands = ascending(recorder.commandLatenciesMs);
  const attempts = recorder.latenciesMs.length + recorder.conflicts;
  return {
    eventsPerSecond: recorder.events / (elapsedMs / 1000),
    events: recorder.events,
    elapsedMs,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    conflicts: recorder.conflicts,
    attempts,
    conflictRate: attempts === 0 ? 0 : recorder.conflicts / attempts,
    commandP50Ms: percentile(commands, 50),
    commandP99Ms: percentile(commands, 99),
    latenciesMs: recorder.latenciesMs,
    commandLatenciesMs: recorder.commandLatenciesMs,
  };
}

/** Percentile over the samples of several runs. */
export function pooledPercentile(
  runs: RunSummary[],
  p: number,
  key: 'latenciesMs' | 'commandLatenciesMs' = 'latenciesMs',
): number {
  return percentile(ascending(runs.flatMap((run) => run[key])), p);
}
