import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';

/**
 * Read-your-writes: a write returns the global position of its last event; a read that passes
 * it as `minPosition` waits (boundedly) until the projections it reads have passed it.
 */
@Injectable()
export class ReadYourWrites {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Resolves true once every named projection's checkpoint is at or past `position`. */
  async waitFor(position: number, projections: string[], timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const { rows } = await this.pool.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM unnest($1::text[]) AS wanted(name)
           LEFT JOIN subscription_checkpoints c ON c.name = wanted.name
          WHERE coalesce(c.position, 0) < $2`,
        [projections, position],
      );
      if (Number(rows[0].behind) === 0) return true;
      if (Date.now() >= deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
