import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { EventStore } from '@app/event-store';
import type { Pool } from 'pg';

/**
 * How a wait for a position ended: the read models reached it; they had not within the wait
 * (a retry may succeed); or no event has that position yet, `head` being the log's last, so no
 * read model can reach it until someone writes that far (a retry is no use).
 */
export type PositionWait =
  { outcome: 'reached' } | { outcome: 'timed-out' } | { outcome: 'beyond-head'; head: number };

/**
 * Read-your-writes: a write returns the global position of its last event; a read that passes
 * it as `minPosition` waits (boundedly) until the projections it reads have passed it.
 */
@Injectable()
export class ReadYourWrites {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly events: EventStore,
  ) {}

  /**
   * Waits until every named projection's checkpoint is at or past `position`. A position past
   * the log's head is answered at once: the head is read after the projections were found
   * behind, so a position a write answered with (committed before its answer) is never taken
   * for one beyond it.
   */
  async waitFor(position: number, projections: string[], timeoutMs = 5000): Promise<PositionWait> {
    const deadline = Date.now() + timeoutMs;
    for (let pause = 5, first = true; ; pause = Math.min(pause * 2, 100), first = false) {
      const { rows } = await this.pool.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM unnest($1::text[]) AS wanted(name)
           LEFT JOIN subscription_checkpoints c ON c.name = wanted.name
          WHERE coalesce(c.position, 0) < $2`,
        [projections, position],
      );
      if (Number(rows[0].behind) === 0) return { outcome: 'reached' };
      if (first) {
        const head = await this.events.headPosition();
        if (position > head) return { outcome: 'beyond-head', head };
      }
      if (Date.now() >= deadline) return { outcome: 'timed-out' };
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}
