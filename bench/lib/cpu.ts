import { readFileSync } from 'node:fs';
import type { Pool } from 'pg';

const TICK_MS = 10; // USER_HZ is 100 on Linux.

/** User + system CPU of a process in ms, from /proc (10 ms ticks); 0 once it has exited. */
function processCpuMs(pid: number): number {
  try {
    // The fields after the command name, which may itself contain spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}

export interface CpuSample {
  serverMs: number;
  postgresMs: number;
  clientMs: number;
}

/**
 * CPU spent during a run by this process (the api), by the PostgreSQL backends of the
 * benchmark's database (whatever their application) and by the load generator. PostgreSQL
 * must run on this machine. A backend that exits during the run loses its share.
 */
export class CpuMeter {
  private constructor(
    private readonly pool: Pool,
    private readonly clientPid: number | undefined,
  ) {}

  static on(pool: Pool, clientPid: number | undefined): CpuMeter {
    return new CpuMeter(pool, clientPid);
  }

  async start(): Promise<() => Promise<CpuSample>> {
    const server = process.cpuUsage();
    const backendsBefore = await this.backends();
    const client = this.clientPid ? processCpuMs(this.clientPid) : 0;
    return async () => {
      const used = process.cpuUsage(server);
      const backendsAfter = await this.backends();
      let postgresMs = 0;
      for (const [pid, after] of backendsAfter)
        postgresMs += after - (backendsBefore.get(pid) ?? 0);
      return {
        serverMs: (used.user + used.system) / 1000,
        postgresMs,
        clientMs: this.clientPid ? processCpuMs(this.clientPid) - client : 0,
      };
    };
  }

  private async backends(): Promise<Map<number, number>> {
    const { rows } = await this.pool.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    return new Map(rows.map(({ pid }) => [pid, processCpuMs(pid)]));
  }
}
