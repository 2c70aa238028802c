import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import type {
  AttemptResult,
  ClaimCursor,
  ClaimedDelivery,
  WebhookDeliverer,
} from './webhook-deliverer';
import { WEBHOOK_DELIVERIES_CHANNEL } from './webhook-dispatcher';

export interface WebhookDeliveryPumpOptions {
  /**
   * For the pump's own connections: the LISTEN (a pool connection cannot hold one) and the one
   * claims run on.
   */
  databaseUrl: string;
  /** Attempts in flight at once in this worker (`WEBHOOK_CONCURRENCY`). */
  concurrency: number;
  /**
   * Deliveries claimed at once per subscription (in flight or waiting for a slot): one slow
   * endpoint never takes every slot.
   */
  perSubscription?: number;
  /**
   * Deliveries held at once (in flight plus claimed ahead), as a multiple of `concurrency`: the
   * next batch is claimed while the last one is still being sent.
   */
  claimAhead?: number;
  /** How often to look when no notification arrives (also finds leases a dead worker left). */
  pollIntervalMs: number;
  /** Outcomes are written together once this many wait, or after `flushIntervalMs`. */
  flushSize?: number;
  flushIntervalMs?: number;
}

/** Between two claims while nearly every slot is taken, at most this long. */
const TOP_UP_MS = 20;
const RETRY_FLUSH_MS = 1000;
/** After an announcement, cursors start again from the beginning at most this often. */
const ANNOUNCED_RESET_MS = 100;

/**
 * Runs the delivery loop of a worker (issue 5, scope 5): claims due deliveries from PostgreSQL in
 * batches, POSTs them concurrently over the HTTP client's keep-alive pool, and writes their
 * outcomes in batches. No job queue in between: the table is the queue, a LISTEN/NOTIFY hint
 * wakes the loop when deliveries are created or re-opened, a timer when the next retry is due,
 * and a poll catches the rest (a lease left by a worker that died mid-send).
 *
 * A claim takes up to `claimAhead × concurrency` deliveries less those held, so that slots are
 * refilled from memory while the next claim runs; claims wait until `concurrency` places are
 * free (or `TOP_UP_MS`), so that they come in batches rather than one per completion. A claimed
 * delivery waits for the ones claimed before it to be started, normally milliseconds; one that
 * would start past half its lease (every slot held by slow endpoints) is let go to be claimed
 * again. Outcomes are written together (`flushSize`, `flushIntervalMs`): one statement for many.
 */
export class WebhookDeliveryPump {
  private readonly logger = new Logger('WebhookDeliveryPump');
  private readonly perSubscription: number;
  private readonly capacity: number;
  private readonly lowWater: number;
  private readonly flushSize: number;
  private readonly flushIntervalMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private listener: Client | undefined;
  /** The connection claims run on, readied once (see `WebhookDeliverer.prepareClaimConnection`). */
  private claimer: Client | undefined;
  private wake: (() => void) | undefined;
  /** Something may be claimable now (a notification, a freed slot): do not sleep. */
  private nudged = false;
  /** The last claim filled every free slot or met a busy subscription: completions matter. */
  private backlog = false;
  private inFlight = 0;
  /** Claimed, waiting for a free slot. */
  private readonly waiting: ClaimedDelivery[] = [];
  /** Deliveries held per subscription, waiting or in flight. */
  private readonly busy = new Map<string, number>();
  /**
   * Where the next claim resumes, per subscription; dropped for a subscription that has nothing
   * more after it, and all of them now and then (see `claimOnce`).
   */
  private readonly cursors = new Map<string, ClaimCursor>();
  private cursorsSince = 0;
  /** When deliveries were last announced committed (they may sort before a cursor). */
  private announcedAt = 0;
  private readonly attempts = new Set<Promise<void>>();
  private results: AttemptResult[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly deliverer: WebhookDeliverer,
    private readonly options: WebhookDeliveryPumpOptions,
  ) {
    this.perSubscription =
      options.perSubscription ?? Math.max(1, Math.ceil(options.concurrency / 5));
    this.capacity = options.concurrency * (options.claimAhead ?? 4);
    this.lowWater = options.concurrency;
    this.flushSize = options.flushSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 25;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops claiming, lets the attempts in flight finish and writes their outcomes. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    // Claimed but not started: sent now rather than left to their leases.
    while (this.held > 0) {
      this.fill();
      await Promise.race([...this.attempts]).catch(() => undefined);
    }
    for (let tries = 0; tries < 3 && (this.results.length || this.flushing); tries += 1) {
      await this.flush();
    }
    clearTimeout(this.flushTimer);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    await this.claimer?.end().catch(() => undefined);
    this.claimer = undefined;
  }

  /** Deliveries held: in flight or claimed and waiting for a slot. */
  private get held(): number {
    return this.inFlight + this.waiting.length;
  }

  /** Claims for the free places and starts what the slots allow; returns how many were claimed. */
  async claimOnce(): Promise<number> {
    const room = this.capacity - this.held;
    if (room <= 0) return 0;
    // From the beginning again now and then: rows left behind a cursor (a lease run out, a
    // delivery committed after later ones were claimed) are found then.
    // And soon after new rows are announced: a transaction that took its time to commit
    // (several fan-outs at once) may have written rows due before the cursors.
    const sinceReset = Date.now() - this.cursorsSince;
    if (
      sinceReset >= this.options.pollIntervalMs ||
      (this.announcedAt > this.cursorsSince && sinceReset >= ANNOUNCED_RESET_MS)
    )
      this.cursors.clear();
    if (this.cursors.size === 0) this.cursorsSince = Date.now();
    const heldBefore = new Map(this.busy);
    const claimed = await this.deliverer.claim(
      {
        limit: room,
        perSubscription: this.perSubscription,
        busy: heldBefore,
        after: this.cursors,
      },
      await this.claimConnection(),
    );
    const taken = new Map<string, number>();
    for (const delivery of claimed) {
      const subscription = delivery.subscription_id;
      this.busy.set(subscription, (this.busy.get(subscription) ?? 0) + 1);
      taken.set(subscription, (taken.get(subscription) ?? 0) + 1);
      const cursor = this.cursors.get(subscription);
      if (!cursor || isAfter(delivery, cursor))
        this.cursors.set(subscription, { at: delivery.next_attempt_at, id: delivery.id });
    }
    if (claimed.length < room) {
      // Not cut by the limit: a subscription that got less than its room has nothing more due
      // after its cursor; the next claim looks at it from the beginning (a row committed late).
      for (const subscription of this.cursors.keys()) {
        const allowed = this.perSubscription - (heldBefore.get(subscription) ?? 0);
        if ((taken.get(subscription) ?? 0) < allowed) this.cursors.delete(subscription);
      }
    }
    this.waiting.push(...claimed);
    this.fill();
    // More may be due than was taken: all free places went, or a subscription is at its cap.
    this.backlog =
      claimed.length === room ||
      [...this.busy.values()].some((count) => count >= this.perSubscription);
    return claimed.length;
  }

  /**
   * Starts waiting deliveries while slots are free, in the order they were claimed. One that
   * waited past its `start_by` (slots held by slow endpoints) is let go: its lease runs out and
   * it is claimed again, rather than attempted so late that another worker may claim it too.
   */
  private fill(): void {
    while (this.inFlight < this.options.concurrency) {
      const delivery = this.waiting.shift();
      if (!delivery) return;
      if (delivery.start_by.getTime() < Date.now()) {
        this.release(delivery.subscription_id);
        continue;
      }
      this.send(delivery);
    }
  }

  private release(subscription: string): void {
    const left = (this.busy.get(subscription) ?? 1) - 1;
    if (left > 0) this.busy.set(subscription, left);
    else this.busy.delete(subscription);
  }

  private send(delivery: ClaimedDelivery): void {
    this.inFlight += 1;
    const subscription = delivery.subscription_id;
    const attempt = this.deliverer
      .attempt(delivery)
      .then((result) => this.collect(result))
      .catch((error: Error) =>
        // Only a bug gets here (HTTP errors are results): the lease runs out and it is retried.
        this.logger.error(`Delivery ${delivery.id} attempt failed: ${error.message}`),
      )
      .finally(() => {
        this.inFlight -= 1;
        this.release(subscription);
        this.attempts.delete(attempt);
        this.fill();
        if (this.backlog && this.capacity - this.held >= this.lowWater) this.poke();
      });
    this.attempts.add(attempt);
  }

  private collect(result: AttemptResult): void {
    this.results.push(result);
    if (this.results.length >= this.flushSize) void this.flush();
    else this.flushTimer ??= setTimeout(() => void this.flush(), this.flushIntervalMs);
  }

  /** One write at a time; outcomes arriving meanwhile go in the next. Never throws. */
  private async flush(): Promise<void> {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.flushing) {
      await this.flushing;
      if (this.results.length >= this.flushSize) return this.flush();
      if (this.results.length) this.flushTimer ??= setTimeout(() => void this.flush(), 0);
      return;
    }
    if (this.results.length === 0) return;
    const batch = this.results;
    this.results = [];
    this.flushing = this.deliverer
      .record(batch)
      // Retries come due and re-opened rows change what is due: look again.
      .then(() => this.poke())
      .catch((error: Error) => {
        // Kept for the next write. If the database stays away past the leases, the deliveries
        // are claimed again and sent again, and these outcomes no longer match their claims.
        this.results = batch.concat(this.results);
        this.logger.warn(`Writing ${batch.length} delivery outcomes failed: ${error.message}`);
        this.flushTimer ??= setTimeout(() => void this.flush(), RETRY_FLUSH_MS);
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  private async run(): Promise<void> {
    let lastClaim = 0;
    while (this.running) {
      let wait = this.options.pollIntervalMs;
      try {
        await this.listen();
        const room = this.capacity - this.held;
        const sinceClaim = Date.now() - lastClaim;
        if (room >= this.lowWater || this.held === 0 || (room > 0 && sinceClaim >= TOP_UP_MS)) {
          lastClaim = Date.now();
          const claimed = await this.claimOnce();
          if (claimed < room) {
            // Everything claimable now is in hand: sleep until the next delivery falls due.
            const next = await this.deliverer.nextDueAt(await this.claimConnection());
            if (next) wait = Math.min(wait, Math.max(0, next.getTime() - Date.now()));
          }
        } else if (this.backlog && room > 0) {
          wait = Math.min(wait, TOP_UP_MS - sinceClaim);
        }
        this.lastError = undefined;
      } catch (error) {
        // Once per distinct failure, not once per poll (the database away fails every pass).
        const message = (error as Error).message;
        if (message !== this.lastError) this.logger.error(`Delivery pass failed: ${message}`);
        this.lastError = message;
      }
      await this.sleep(wait);
    }
  }

  private poke(): void {
    this.nudged = true;
    this.wake?.();
  }

  private async listen(): Promise<void> {
    if (this.listener) return;
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'accord-webhook-pump',
    });
    client.on('error', (error) => {
      this.logger.warn(`The pump's LISTEN connection was lost: ${error.message}`);
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
    });
    client.on('notification', () => {
      this.announcedAt = Date.now();
      this.poke();
    });
    await client.connect();
    await client.query(`LISTEN ${WEBHOOK_DELIVERIES_CHANNEL}`);
    this.listener = client;
  }

  private async claimConnection(): Promise<Client> {
    if (this.claimer) return this.claimer;
    const client = new Client({
      connectionString: this.options.databaseUrl,
      application_name: 'accord-webhook-claims',
    });
    client.on('error', (error) => {
      this.logger.warn(`The pump's claim connection was lost: ${error.message}`);
      if (this.claimer === client) this.claimer = undefined;
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await this.deliverer.prepareClaimConnection(client);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.claimer = client;
    return client;
  }

  private sleep(ms: number): Promise<void> {
    if (!this.running || this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        this.nudged = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}

function isAfter(delivery: ClaimedDelivery, cursor: ClaimCursor): boolean {
  const at = delivery.next_attempt_at.getTime() - cursor.at.getTime();
  return at > 0 || (at === 0 && delivery.id > cursor.id);
}
