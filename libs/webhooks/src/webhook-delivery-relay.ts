import { Logger } from '@nestjs/common';
import {
  WEBHOOK_DELIVERY_JOB,
  webhookDeliveryJobId,
  type WebhookDeliveryJobData,
} from '@app/queues';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Client, type Pool } from 'pg';
import { inTransaction } from './infrastructure/webhook.repository';
import { WEBHOOK_DELIVERIES_CHANNEL } from './webhook-dispatcher';

export interface WebhookDeliveryRelayOptions {
  /** For the LISTEN connection (a pool connection cannot hold a LISTEN). */
  databaseUrl: string;
  /** The poll when no notification arrives; also how soon a Redis flush is noticed. */
  pollIntervalMs: number;
  /** How often every open delivery's job is re-added whatever the marker says. */
  sweepIntervalMs: number;
  batchSize?: number;
}

/** How soon after a sweep caused by lost keys a second one runs. */
const FOLLOW_UP_SWEEP_MS = 2_000;

type DeliveryQueue = Queue<WebhookDeliveryJobData, unknown, string>;

interface OpenRow {
  id: string;
  next_attempt_at: Date;
  attempts: number;
}

/**
 * Moves committed deliveries from `webhook_deliveries` into BullMQ — a checkpointed relay, never
 * a dual write: the table is the truth and a job is a reminder with a deterministic id
 * (`delivery-<id>`), so adding it again is harmless.
 *
 * - New and re-opened rows (`relayed_at IS NULL`) are relayed on each notification or poll;
 *   `FOR UPDATE SKIP LOCKED` lets several workers share the work.
 * - A marker key beside the queue's keys tells whether Redis still holds what was relayed: when
 *   it is gone (FLUSHDB, a restart without persistence, the prefix's keys deleted), every open
 *   delivery's job is re-added at once. A periodic sweep does the same for any job lost otherwise.
 */
export class WebhookDeliveryRelay {
  private readonly logger = new Logger('WebhookRelay');
  private listener: Client | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private lastSweep = 0;
  private followUpAt = Number.POSITIVE_INFINITY;
  /** A notification arrived while a pass was running: do not sleep before the next. */
  private notified = false;
  private lastError: string | undefined;
  private readonly batchSize: number;
  readonly markerKey: string;

  constructor(
    private readonly pool: Pool,
    private readonly queue: DeliveryQueue,
    private readonly redis: Redis,
    private readonly options: WebhookDeliveryRelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.markerKey = queue.toKey('relay-marker');
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
  }

  /** One pass: re-add everything if Redis lost it (or a sweep is due), then relay new rows. */
  async runOnce(): Promise<{ swept: number; relayed: number }> {
    let swept = 0;
    const now = Date.now();
    const sweepDue = now - this.lastSweep >= this.options.sweepIntervalMs || now >= this.followUpAt;
    const lost = !sweepDue && !(await this.redis.exists(this.markerKey));
    if (sweepDue || lost) {
      swept = await this.sweep();
      this.lastSweep = Date.now();
      // Keys deleted by pattern go in batches, not at once like FLUSHDB: a batch after this
      // sweep may take jobs it just added. Look once more shortly after.
      this.followUpAt = lost ? this.lastSweep + FOLLOW_UP_SWEEP_MS : Number.POSITIVE_INFINITY;
    }
    let relayed = 0;
    for (;;) {
      const count = await this.relayBatch();
      relayed += count;
      if (count < this.batchSize) break;
    }
    return { swept, relayed };
  }

  /** Re-adds the job of every open delivery; one whose job still exists is left as it is. */
  async sweep(): Promise<number> {
    // Set first: a flush during the sweep removes it again and the next pass sweeps again.
    await this.redis.set(this.markerKey, new Date().toISOString());
    let after = '00000000-0000-0000-0000-000000000000';
    let total = 0;
    for (;;) {
      const { rows } = await this.pool.query<OpenRow>(
        `SELECT id, next_attempt_at, attempts FROM webhook_deliveries
         WHERE status IN ('pending', 'delivering') AND relayed_at IS NOT NULL AND id > $1
         ORDER BY id LIMIT $2`,
        [after, this.batchSize],
      );
      if (rows.length === 0) break;
      await this.addJobs(rows);
      total += rows.length;
      after = rows[rows.length - 1].id;
    }
    if (total > 0) this.logger.log(`Sweep re-added the jobs of ${total} open deliveries`);
    return total;
  }

  private async relayBatch(): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<OpenRow>(
        `SELECT id, next_attempt_at, attempts FROM webhook_deliveries
         WHERE status = 'pending' AND relayed_at IS NULL
         ORDER BY created_at LIMIT $1
         FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) return 0;
      const fresh = rows.filter((row) => row.attempts === 0);
      const reopened = rows.filter((row) => row.attempts > 0);
      await this.addJobs(fresh);
      const relayed = fresh.map((row) => row.id);
      for (const row of reopened) if (await this.reschedule(row)) relayed.push(row.id);
      await client.query(
        'UPDATE webhook_deliveries SET relayed_at = now() WHERE id = ANY($1::uuid[])',
        [relayed],
      );
      return rows.length;
    });
  }

  private async addJobs(rows: OpenRow[]): Promise<void> {
    if (rows.length === 0) return;
    const now = Date.now();
    await this.queue.addBulk(
      rows.map((row) => ({
        name: WEBHOOK_DELIVERY_JOB,
        data: { deliveryId: row.id },
        opts: {
          jobId: webhookDeliveryJobId(row.id),
          delay: Math.max(0, row.next_attempt_at.getTime() - now),
        },
      })),
    );
  }

  /**
   * A re-opened delivery may still have a job waiting for a later retry: bring it forward.
   * False when its job is running right now (try again on the next pass).
   */
  private async reschedule(row: OpenRow): Promise<boolean> {
    const job = await this.queue.getJob(webhookDeliveryJobId(row.id));
    if (!job) {
      await this.addJobs([row]);
      return true;
    }
    const state = await job.getState();
    const delay = Math.max(0, row.next_attempt_at.getTime() - Date.now());
    switch (state) {
      case 'delayed':
        if (delay === 0) await job.promote();
        else await job.changeDelay(delay);
        return true;
      case 'completed':
      case 'failed':
        await job.remove();
        await this.addJobs([row]);
        return true;
      case 'active':
        return false;
      case 'waiting':
      case 'prioritized':
      case 'waiting-children':
      case 'unknown':
        return true;
      default: {
        const unexpected: never = state;
        throw new Error(`Unexpected job state ${String(unexpected)}`);
      }
    }
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        await this.listen();
        await this.runOnce();
        this.lastError = undefined;
      } catch (error) {
        // Once per distinct failure, not once per poll (Redis down fails every pass).
        const message = (error as Error).message;
        if (message !== this.lastError)
          this.logger.error(`Relay pass failed, will retry: ${message}`);
        this.lastError = message;
      }
      await this.sleep(this.options.pollIntervalMs);
    }
  }

  private async listen(): Promise<void> {
    if (this.listener) return;
    const client = new Client({ connectionString: this.options.databaseUrl });
    client.on('error', (error) => {
      this.logger.warn(`Relay's LISTEN connection lost: ${error.message}`);
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
    });
    client.on('notification', () => {
      this.notified = true;
      this.wake?.();
    });
    await client.connect();
    await client.query(`LISTEN ${WEBHOOK_DELIVERIES_CHANNEL}`);
    this.listener = client;
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running || this.notified) {
      this.notified = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.notified = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
