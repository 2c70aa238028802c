import { Logger } from '@nestjs/common';
import { connectionSettings } from '@app/database';
import { Client, type QueryConfig } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { EVENTS_CHANNEL, type EventStore } from './event-store';
import type { RecordedEvent } from './event-store.types';

/**
 * A named consumer of the global log. `handle` runs inside the transaction that also moves the
 * consumer's checkpoint, so its effects and the checkpoint commit or roll back together.
 */
export interface SubscriptionHandler {
  readonly name: string;
  readonly batchSize?: number;
  handle(events: RecordedEvent[], manager: EntityManager): Promise<void>;
}

export interface SubscriptionRunnerOptions {
  databaseUrl: string;
  /** Fallback when a notification is lost or never sent. */
  pollIntervalMs: number;
  /** How often a standby retries the leadership lock. */
  standbyRetryMs?: number;
  /** Pause after a failed batch before it is tried again. */
  errorBackoffMs?: number;
  /**
   * How often the leader asks its lock's connection whether it still answers, and how long it
   * waits for the answer, or for a new connection to open (defaults 10 s and 5 s). A connection that died without a word (a partition, a
   * failover) would otherwise hold this runner, silent, for as long as the operating system
   * takes to notice; the server drops the lock's session by its keepalives (connectionSettings)
   * and a standby takes over.
   */
  leaderCheckMs?: number;
  leaderCheckTimeoutMs?: number;
}

export interface SubscriptionStatus {
  name: string;
  active: boolean;
  checkpoint: number;
  lastError: string | null;
}

/**
 * Follows the global log for one handler. Across replicas at most one runner per name is active:
 * it holds a session advisory lock on its own connection (dropped with the connection if the
 * process dies). The checkpoint update is also fenced on the previous value, so even two runners
 * that briefly overlap cannot both apply a batch.
 */
export class SubscriptionRunner {
  private readonly logger: Logger;
  private leaderConnection: Client | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private checkpoint = 0;
  private lastError: string | null = null;
  /** Failed tries in a row. */
  private failures = 0;
  private leaderCheckedAt = 0;
  private readonly leaderCheckTimeoutMs: number;

  constructor(
    private readonly handler: SubscriptionHandler,
    private readonly store: EventStore,
    private readonly dataSource: DataSource,
    private readonly options: SubscriptionRunnerOptions,
  ) {
    this.logger = new Logger(`Subscription:${handler.name}`);
    this.leaderCheckTimeoutMs = options.leaderCheckTimeoutMs ?? 5_000;
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
    await this.releaseLeadership();
  }

  status(): SubscriptionStatus {
    return {
      name: this.handler.name,
      active: this.leaderConnection !== undefined,
      checkpoint: this.checkpoint,
      lastError: this.lastError,
    };
  }

  private async run(): Promise<void> {
    while (this.running) {
      let what = 'Could not try to lead';
      try {
        if (!this.leaderConnection && !(await this.tryLead())) {
          // The database answered: another replica leads, and nothing is failing here.
          this.recovered('standing by while another replica leads');
          await this.sleep(this.options.standbyRetryMs ?? 2000);
          continue;
        }
        what = 'Batch failed';
        if (!(await this.stillLeading())) continue;
        const progressed = await this.processBatch();
        this.recovered();
        if (!progressed) await this.sleep(this.options.pollIntervalMs);
      } catch (error) {
        if (error instanceof CheckpointMovedError) {
          // A rebuild swapped the projection in under this runner (or another runner took over):
          // nothing failed, and nothing was applied twice. Step down, and lead again from the
          // checkpoint as it is now, or stand by.
          this.logger.log(`${error.message}; taking it up again from the stored checkpoint`);
          await this.releaseLeadership();
          continue;
        }
        await this.sleep(this.failed(error, what));
      }
    }
  }

  /**
   * Notes a failed try and says how long to wait before the next: said once per distinct error
   * (a database away fails every try, for as long as it is away), waiting twice as long after
   * each failure in a row, up to 16 times `errorBackoffMs`.
   */
  private failed(error: unknown, what: string): number {
    const message = error instanceof Error ? error.message : String(error);
    if (message !== this.lastError) this.logger.error(`${what}, will retry: ${message}`);
    this.lastError = message;
    this.failures += 1;
    return (this.options.errorBackoffMs ?? 1000) * 2 ** Math.min(this.failures - 1, 4);
  }

  private recovered(standingBy?: string): void {
    if (this.failures > 0)
      this.logger.log(
        standingBy
          ? `The database answers again after ${this.failures} failed tries; ${standingBy}`
          : `Batches succeed again after ${this.failures} failed tries`,
      );
    this.failures = 0;
    this.lastError = null;
  }

  private async tryLead(): Promise<boolean> {
    const client = new Client({
      connectionString: this.options.databaseUrl,
      ...connectionSettings(),
      // As long as it waits for an answer (below): a standby tries again soon after.
      connectionTimeoutMillis: this.leaderCheckTimeoutMs,
    });
    client.on('error', (error) => {
      this.logger.warn(`Leadership connection lost: ${error.message}`);
      if (this.leaderConnection === client) this.leaderConnection = undefined;
      this.wake?.();
    });
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>(
        this.answered('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [
          `accord-subscription:${this.handler.name}`,
        ]),
      );
      if (!rows[0].locked) {
        await client.end();
        return false;
      }
      await client.query(this.answered(`LISTEN ${EVENTS_CHANNEL}`));
      client.on('notification', () => this.wake?.());
      await this.dataSource.query(
        'INSERT INTO subscription_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING',
        [this.handler.name],
      );
      this.checkpoint = await this.readCheckpoint();
    } catch (error) {
      // Closed, so that a lock it may have taken goes with it.
      await client.end().catch(() => undefined);
      throw error;
    }
    this.leaderConnection = client;
    this.leaderCheckedAt = Date.now();
    this.logger.log(`Active from position ${this.checkpoint}`);
    return true;
  }

  /**
   * A statement on the lock's connection, answered within `leaderCheckTimeoutMs` or failed:
   * node-postgres takes a timeout per query, which its types do not say.
   */
  private answered(text: string, values: unknown[] = []): QueryConfig {
    const config: QueryConfig & { query_timeout: number } = {
      text,
      values,
      query_timeout: this.leaderCheckTimeoutMs,
    };
    return config;
  }

  /**
   * Whether the lock's connection still answers, asked at most every `leaderCheckMs`. One that
   * does not is given up (and with it the lead, once the server drops the session): the failure
   * shows as this runner's last error, and it tries to lead again like a standby.
   */
  private async stillLeading(): Promise<boolean> {
    const client = this.leaderConnection;
    if (!client) return false;
    if (Date.now() - this.leaderCheckedAt < (this.options.leaderCheckMs ?? 10_000)) return true;
    try {
      await client.query(this.answered('SELECT 1'));
      this.leaderCheckedAt = Date.now();
      return true;
    } catch (error) {
      this.lastError = `Leadership connection not answering: ${(error as Error).message}`;
      this.logger.warn(`${this.lastError}; stepping down until it can lead again`);
      await this.releaseLeadership();
      return false;
    }
  }

  private async releaseLeadership(): Promise<void> {
    const client = this.leaderConnection;
    this.leaderConnection = undefined;
    await client?.end().catch(() => undefined);
  }

  private async readCheckpoint(): Promise<number> {
    const rows: { position: string }[] = await this.dataSource.query(
      'SELECT position FROM subscription_checkpoints WHERE name = $1',
      [this.handler.name],
    );
    return Number(rows[0].position);
  }

  /** Returns whether anything was processed. */
  private async processBatch(): Promise<boolean> {
    const page = await this.store.readAll(this.checkpoint, this.handler.batchSize ?? 500);
    if (page.nextAfter === this.checkpoint) return false;
    await this.dataSource.transaction(async (manager) => {
      await this.handler.handle(page.events, manager);
      // TypeORM answers an UPDATE with [rows, affected row count].
      const [, affected] = await manager.query<[unknown, number]>(
        `UPDATE subscription_checkpoints SET position = $3, updated_at = now()
          WHERE name = $1 AND position = $2`,
        [this.handler.name, this.checkpoint, page.nextAfter],
      );
      if (affected !== 1) throw new CheckpointMovedError(this.handler.name);
    });
    this.checkpoint = page.nextAfter;
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }
}

/** Someone else moved the checkpoint: this runner's batch was rolled back and it re-reads. */
class CheckpointMovedError extends Error {
  constructor(name: string) {
    super(
      `The checkpoint of ${name} moved under this runner (a rebuild swapped it in, or another ` +
        'runner leads now); its batch was rolled back',
    );
  }
}
