import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { Pool } from 'pg';

/** What the figures were measured on and against, printed before them. */
export async function describeRun(pool: Pool, files: string[]): Promise<void> {
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  const cpu = cpus();
  console.log(`date:     ${new Date().toISOString()}`);
  console.log(
    `machine:  ${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), ` +
      `${Math.round(totalmem() / 2 ** 30)} GiB RAM; Node ${process.version}; PostgreSQL ${rows[0].server_version}`,
  );
  console.log(`code:     ${gitDescription()}`);
  for (const file of files) {
    const digest = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
    console.log(`          ${file} sha256:${digest}`);
  }
}

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'libs'], {
      encoding: 'utf8',
    });
    return `${head}${dirty.trim() ? ' + uncommitted changes under libs/' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
