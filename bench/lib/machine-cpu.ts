import { readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/**
 * CPU time the whole machine spent busy (every core, every process: /proc/stat, all but idle and
 * iowait), ms. Beside what a benchmark's own processes spent in the same window, it says how
 * much the machine's other load took from them.
 */
export function machineBusyMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) * TICK_MS;
}
