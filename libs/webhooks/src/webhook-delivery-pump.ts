import { Logger } from '@nestjs/common';
import { connectionSettings, QueryTimeoutClient } from '@app/database';
import { Client } from 'pg';
import type {
  AttemptResult,
  ClaimCursor,
  ClaimedDelivery,
  WebhookDeliverer,
} from './webhook-deliverer';
import type { SqlRunner } from './infrastructure/queryable';
import { WEBHOOK_DELIVERIES_CHANNEL, type WebhookDispatcher } from './webhook-dispatcher';

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
  /**
   * Claims that may run at once, each on a connection of its own and over its own share of the
   * subscriptions (a hash of their id), so that a subscription's cap holds: a claim takes a few
   * milliseconds of PostgreSQL, and one at a time could not keep every slot busy.
   */
  claimLanes?: number;
  /** How often to look when no notification arrives (also finds leases a dead worker left). */
  pollIntervalMs: number;
  /** A claim unanswered this long fails, and its connection is replaced (see `claimLane`). */
  queryTimeoutMs?: number;
  /** Outcomes are written together once this many wait, or after `flushIntervalMs`. */
  flushSize?: number;
  flushIntervalMs?: number;
}

/**
 * Where the pump finds messages committed staged (`WebhookDispatcher.stageMany`) whose
 * deliveries were never written: the process that staged them died between its commit and
 * writing them. The sweep writes them.
 */
export interface StagedMessagesSweep {
  dispatcher: WebhookDispatcher;
  runner: SqlRunner;
  /**
   * Left to the process that staged them for this long (it writes them at once, and the
   * sweep would only contend with it); default 5 s.
   */
  graceMs?: number;
}

/** Staged messages written per sweep statement; a full one sweeps again at once. */
const SWEEP_LIMIT = 50;
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
 * would start past half its lease (every slot held by slow endpoints) is let go, given back to be
 * claimed again (a lease left to run out would read as an attempt cut short: see
 * `WebhookDeliverer.release`). Outcomes are written together (`flushSize`, `flushIntervalMs`):
 * one statement for many.
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
  private readonly lanes: Lane[];
  /** Places promised to the claims in flight. */
  private reserved = 0;
  /** When the next delivery not due yet falls due, as the last claims that emptied lanes saw. */
  private nextDue: number | undefined;
  /** After a failed claim, none before this (the database away fails every one). */
  private pausedUntil = 0;
  private nextLane = 0;
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
  /** When deliveries were last announced committed (they may sort before a cursor). */
  private announcedAt = 0;
  private readonly attempts = new Set<Promise<void>>();
  /** Deliveries let go on their way back to the table (`giveBack`). */
  private readonly givingBack = new Set<Promise<void>>();
  private results: AttemptResult[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private lastError: string | undefined;
  /** The LISTEN connection went away: say so when it is back. */
  private listenerLost = false;
  private sweeping: Promise<void> | undefined;
  private nextSweep = 0;

  constructor(
    private readonly deliverer: WebhookDeliverer,
    private readonly options: WebhookDeliveryPumpOptions,
    private readonly staged?: StagedMessagesSweep,
  ) {
    this.perSubscription =
      options.perSubscription ?? Math.max(1, Math.ceil(options.concurrency / 5));
    this.capacity = options.concurrency * (options.claimAhead ?? 4);
    this.lowWater = options.concurrency;
    this.flushSize = options.flushSize ?? 500;
    this.flushIntervalMs = options.flushIntervalMs ?? 25;
    this.lanes = Array.from({ length: Math.max(1, options.claimLanes ?? 2) }, (_, index) => ({
      index,
      cursors: new Map<string, ClaimCursor>(),
      cursorsSince: 0,
      lastClaim: 0,
    }));
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
    await this.sweeping;
    for (const lane of this.lanes) if (lane.claiming) await lane.claiming;
    // Claimed but not started: sent now rather than left to their leases.
    while (this.held > 0) {
      this.fill();
      await Promise.race([...this.attempts]).catch(() => undefined);
    }
    for (let tries = 0; tries < 3 && (this.results.length || this.flushing); tries += 1) {
      await this.flush();
    }
    await Promise.all(this.givingBack);
    clearTimeout(this.flushTimer);
    await this.listener?.end().catch(() => undefined);
    this.listener = undefined;
    for (const lane of this.lanes) {
      await lane.claimer?.end().catch(() => undefined);
      lane.claimer = undefined;
    }
  }

  /** Deliveries held: in flight or claimed and waiting for a slot. */
  private get held(): number {
    return this.inFlight + this.waiting.length;
  }

  /** Places neither held nor promised to a claim in flight. */
  private get room(): number {
    return this.capacity - this.held - this.reserved;
  }

  /**
   * Claims for the free places on one lane and starts what the slots allow; returns how many
   * were claimed.
   */
  async claimOnce(lane: Lane = this.lanes[0], limit = this.room): Promise<number> {
    const room = Math.min(limit, this.room);
    if (room <= 0) return 0;
    this.reserved += room;
    try {
      return await this.claimFor(lane, room);
    } finally {
      this.reserved -= room;
    }
  }

  private async claimFor(lane: Lane, room: number): Promise<number> {
    // Not before what was let go is back: its lease may have run out meanwhile, and this claim
    // would take it for an attempt cut short.
    if (this.givingBack.size > 0) await Promise.all(this.givingBack);
    const cursors = lane.cursors;
    // From the beginning again now and then: rows left behind a cursor (a lease run out, a
    // delivery committed after later ones were claimed) are found then.
    // And soon after new rows are announced: a transaction that took its time to commit
    // (several fan-outs at once) may have written rows due before the cursors.
    const sinceReset = Date.now() - lane.cursorsSince;
    if (
      sinceReset >= this.options.pollIntervalMs ||
      (this.announcedAt > lane.cursorsSince && sinceReset >= ANNOUNCED_RESET_MS)
    )
      cursors.clear();
    if (cursors.size === 0) lane.cursorsSince = Date.now();
    const heldBefore = new Map(this.busy);
    const claimed = await this.deliverer.claim(
      {
        limit: room,
        perSubscription: this.perSubscription,
        busy: heldBefore,
        after: cursors,
        lane: { index: lane.index, count: this.lanes.length },
      },
      await this.claimConnection(lane),
    );
    const taken = new Map<string, number>();
    for (const delivery of claimed) {
      const subscription = delivery.subscription_id;
      this.busy.set(subscription, (this.busy.get(subscription) ?? 0) + 1);
      taken.set(subscription, (taken.get(subscription) ?? 0) + 1);
      const cursor = cursors.get(subscription);
      if (!cursor || isAfter(delivery, cursor))
        // Whole milliseconds, rounded down: never past the row itself (rows dispatched together
        // share one instant, and the next claim resumes after the cursor).
        cursors.set(subscription, {
          at: Math.floor(delivery.next_attempt_ms),
          id: delivery.id,
        });
    }
    if (claimed.length < room) {
      // Not cut by the limit: a subscription that got less than its room has nothing more due
      // after its cursor; the next claim looks at it from the beginning (a row committed late).
      for (const subscription of cursors.keys()) {
        const allowed = this.perSubscription - (heldBefore.get(subscription) ?? 0);
        if ((taken.get(subscription) ?? 0) < allowed) cursors.delete(subscription);
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
   * waited past its `start_by` (slots held by slow endpoints) is let go: given back unattempted,
   * to be claimed again, rather than attempted so late that another worker may claim it too.
   */
  private fill(): void {
    const letGo: ClaimedDelivery[] = [];
    while (this.inFlight < this.options.concurrency) {
      const delivery = this.waiting.shift();
      if (!delivery) break;
      if (delivery.start_by_ms < Date.now()) {
        this.release(delivery.subscription_id);
        letGo.push(delivery);
        continue;
      }
      this.send(delivery);
    }
    if (letGo.length > 0) this.giveBack(letGo);
  }

  /**
   * Hands deliveries let go back to the table. Should that fail, their leases run out instead,
   * and the claim that takes them over logs each as an attempt without an outcome.
   */
  private giveBack(deliveries: ClaimedDelivery[]): void {
    const giving: Promise<void> = this.deliverer
      .release(deliveries)
      .catch((error: Error) =>
        this.logger.warn(`Giving back ${deliveries.length} deliveries failed: ${error.message}`),
      )
      .finally(() => this.givingBack.delete(giving));
    this.givingBack.add(giving);
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
        if (this.backlog && this.room >= this.lowWater) this.poke();
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
      .catch(async (error: Error) => {
        // An outcome the database refuses as data would fail every batch it is kept in: each
        // is written alone, and one refused alone is dropped (its lease runs out, and it is
        // sent and recorded again) rather than holding back every other subscription's.
        const kept = isDataError(error) ? await this.recordOneByOne(batch) : batch;
        // Kept for the next write. If the database stays away past the leases, the deliveries
        // are claimed again and sent again, and these outcomes no longer match their claims.
        this.results = kept.concat(this.results);
        if (kept.length) {
          this.logger.warn(`Writing ${kept.length} delivery outcomes failed: ${error.message}`);
          this.flushTimer ??= setTimeout(() => void this.flush(), RETRY_FLUSH_MS);
        }
      })
      .finally(() => (this.flushing = undefined));
    await this.flushing;
  }

  /**
   * Writes each outcome alone; returns those to try again (the database was away). One the
   * database refuses as data is written again without the receiver's text, so that its attempt
   * still counts (towards the retry window and disabling) and shows in the log; only if that
   * fails too is it dropped, and then its lease runs out and it is sent again.
   */
  private async recordOneByOne(batch: AttemptResult[]): Promise<AttemptResult[]> {
    const kept: AttemptResult[] = [];
    for (const result of batch) {
      try {
        await this.recordRefusingData(result);
      } catch (error) {
        if (!isDataError(error)) kept.push(result);
        else
          this.logger.error(
            `The outcome of delivery ${result.delivery.id} cannot be stored and was dropped: ` +
              (error as Error).message,
          );
      }
    }
    return kept;
  }

  private async recordRefusingData(result: AttemptResult): Promise<void> {
    try {
      await this.deliverer.record([result]);
    } catch (error) {
      if (!isDataError(error)) throw error;
      const refused = `The outcome's text could not be stored: ${(error as Error).message}`;
      await this.deliverer.record([
        {
          ...result,
          error: result.error === null ? null : refused,
          http: result.http?.kind === 'response' ? { ...result.http, body: '' } : result.http,
        },
      ]);
    }
  }

  /**
   * Starts a claim on each idle lane while there is room for one (a batch's worth, or anything
   * once nothing is held or the last claim is `TOP_UP_MS` old), and sleeps until a claim or an
   * attempt ends, a notification, the next retry or the poll.
   */
  private async run(): Promise<void> {
    while (this.running) {
      let wait = this.options.pollIntervalMs;
      try {
        await this.listen();
      } catch (error) {
        this.failed(error as Error);
      }
      const now = Date.now();
      if (this.staged && !this.sweeping && now >= this.nextSweep) {
        this.nextSweep = now + this.options.pollIntervalMs;
        this.sweeping = this.sweep(this.staged).finally(() => (this.sweeping = undefined));
      }
      if (now >= this.pausedUntil) {
        // Nothing held or being claimed: every lane claims, each for its share of the places.
        const idle = this.held === 0 && this.reserved === 0;
        // Otherwise the first lane free gets the room: start with a different one each time.
        this.nextLane = (this.nextLane + 1) % this.lanes.length;
        for (let i = 0; i < this.lanes.length; i += 1) {
          const lane = this.lanes[(this.nextLane + i) % this.lanes.length];
          if (lane.claiming) continue;
          const room = this.room;
          const sinceClaim = now - lane.lastClaim;
          if (idle || room >= this.lowWater || (room > 0 && sinceClaim >= TOP_UP_MS)) {
            lane.lastClaim = now;
            const limit = idle ? Math.ceil(this.capacity / this.lanes.length) : room;
            lane.claiming = this.claimLane(lane, limit).finally(() => (lane.claiming = undefined));
          } else if (this.backlog && room > 0) {
            wait = Math.min(wait, TOP_UP_MS - sinceClaim);
          }
        }
      } else {
        wait = Math.min(wait, this.pausedUntil - now);
      }
      // Woken at the next delivery's time, claims are looked at then (above), once.
      if (this.nextDue !== undefined && this.nextDue > now)
        wait = Math.min(wait, this.nextDue - now);
      else this.nextDue = undefined;
      await this.sleep(Math.max(0, wait));
    }
  }

  /**
   * Writes the deliveries of messages left staged past the grace period (their writes announce
   * themselves, which wakes the claims). A full pass sweeps again at the next turn of the loop.
   */
  private async sweep(staged: StagedMessagesSweep): Promise<void> {
    try {
      const written = await staged.dispatcher.expandStaged(staged.runner, {
        stagedBefore: new Date(Date.now() - (staged.graceMs ?? 5000)),
        limit: SWEEP_LIMIT,
      });
      if (written.size > 0) {
        this.logger.warn(
          `Wrote the deliveries of ${written.size} message${written.size === 1 ? '' : 's'} left staged`,
        );
      }
      if (written.size === SWEEP_LIMIT) {
        this.nextSweep = 0;
        this.poke();
      }
    } catch (error) {
      this.failed(error as Error);
    }
  }

  /** One claim on a lane; when it empties the lane, notes when the next delivery falls due. */
  private async claimLane(lane: Lane, limit: number): Promise<void> {
    try {
      const room = Math.min(limit, this.room);
      const claimed = await this.claimOnce(lane, room);
      // Places may be left for another lane, or more due: look again (not after finding
      // nothing, which would only claim nothing again).
      if (claimed > 0) this.poke();
      if (claimed < room) {
        // Everything claimable now is in hand: look again when the next delivery falls due.
        const next = await this.deliverer.nextDueAt(await this.claimConnection(lane));
        this.nextDue = next ? next.getTime() : undefined;
      } else {
        this.nextDue = undefined;
      }
      this.lastError = undefined;
    } catch (error) {
      this.failed(error as Error);
      this.pausedUntil = Date.now() + this.options.pollIntervalMs;
      // Not an error of PostgreSQL's own (no SQLSTATE): the connection itself may be the
      // trouble (timed out, closed); the next claim opens a new one.
      if ((error as { code?: unknown }).code === undefined) this.dropClaimConnection(lane);
    }
  }

  private dropClaimConnection(lane: Lane): void {
    const client = lane.claimer;
    lane.claimer = undefined;
    client?.end().catch(() => undefined);
  }

  private failed(error: Error): void {
    // Once per distinct failure, not once per poll (the database away fails every pass).
    if (error.message !== this.lastError)
      this.logger.error(`Delivery pass failed: ${error.message}`);
    this.lastError = error.message;
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
      ...connectionSettings(),
    });
    client.on('error', (error) => {
      this.logger.warn(
        `The pump's LISTEN connection was lost: ${error.message}; polling every ` +
          `${this.options.pollIntervalMs} ms until it is back`,
      );
      this.listenerLost = true;
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
    if (this.listenerLost) this.logger.log("The pump's LISTEN connection is back");
    this.listenerLost = false;
  }

  private async claimConnection(lane: Lane): Promise<Client> {
    if (lane.claimer) return lane.claimer;
    const client = new QueryTimeoutClient({
      connectionString: this.options.databaseUrl,
      application_name: 'accord-webhook-claims',
      ...connectionSettings({ queryTimeoutMs: this.options.queryTimeoutMs }),
    });
    client.on('error', (error) => {
      this.logger.warn(`The pump's claim connection was lost: ${error.message}`);
      if (lane.claimer === client) lane.claimer = undefined;
      client.end().catch(() => undefined);
    });
    try {
      await client.connect();
      await this.deliverer.prepareClaimConnection(client);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    lane.claimer = client;
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

/** One claim at a time over a share of the subscriptions, on a connection of its own. */
interface Lane {
  index: number;
  /** Readied once (see `WebhookDeliverer.prepareClaimConnection`). */
  claimer?: Client;
  claiming?: Promise<void>;
  lastClaim: number;
  /**
   * Where the lane's next claim resumes, per subscription; dropped for a subscription that has
   * nothing more after it, and all of them now and then (see `claimFor`).
   */
  cursors: Map<string, ClaimCursor>;
  cursorsSince: number;
}

function isAfter(delivery: ClaimedDelivery, cursor: ClaimCursor): boolean {
  const at = Math.floor(delivery.next_attempt_ms) - cursor.at;
  return at > 0 || (at === 0 && delivery.id > cursor.id);
}

/** SQLSTATE class 22, data exception: the statement's values, not the database, are at fault. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('22');
}
