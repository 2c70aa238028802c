import { randomUUID } from 'node:crypto';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import { isInStorableRange } from '@app/domain';
import type { Pool, PoolClient } from 'pg';
import {
  DELIVERY_SELECT,
  PUBLIC_SUBSCRIPTION_COLUMNS,
  inTransaction,
  isBeingAttempted,
  reopenDeliveries,
  secretDigest,
  subscriptionFromJson,
  toAttempt,
  toDelivery,
  toSubscription,
  type AttemptRow,
  type DeliveryRow,
  type IdempotencyKeyRow,
  type SubscriptionJson,
  type SubscriptionRow,
} from './infrastructure/webhook.repository';
import type { PgQueryable } from './infrastructure/queryable';
import { notifyDeliveries, type WebhookDispatcher } from './webhook-dispatcher';
import { generateWebhookSecret, webhookIdFor } from './webhook-secret';
import type {
  CreateWebhookSubscriptionInput,
  DeliveryStatus,
  UpdateWebhookSubscriptionInput,
  WebhookDeliveryWithAttempts,
  WebhookSubscription,
  WebhookSubscriptionWithSecret,
} from './webhook-subscription';
import type { WebhookUrlGuard } from './webhook-url-guard';
import {
  WebhookDeliveryNotFoundError,
  WebhookStateConflictError,
  SecretSupersededError,
  SubscriptionDeletedSinceError,
  WebhookSubscriptionNotFoundError,
} from './webhooks.errors';

export interface WebhookSubscriptionsServiceOptions {
  /** How long the previous secret keeps signing after a rotation. */
  secretGraceMs: number;
  /**
   * How long a retried creation or rotation (same `Idempotency-Key`) is answered with the secret
   * it made; later a retry is a 409 `idempotency-key-expired` (a secret is shown when it is made,
   * not on demand). Default 24 hours.
   */
  secretReplayMs?: number;
  clock?: () => Date;
}

const DEFAULT_SECRET_REPLAY_MS = 24 * 60 * 60 * 1000;

/** A `cursor` that the list it was given to did not hand out (400 `validation-failed`). */
export class InvalidWebhookCursorError extends Error {
  readonly code = 'validation-failed';
  readonly field = 'cursor';
  constructor(readonly cursor: string) {
    super('is not a cursor this list handed out');
    this.name = 'InvalidWebhookCursorError';
  }
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * An `Idempotency-Key` as the API scopes it (to the caller's API key), and a digest of the
 * request it came with: the same key on another request is refused, not answered.
 */
export interface IdempotencyKey {
  key: string;
  fingerprint: string;
}

export interface TestPing {
  deliveryId: string;
  webhookId: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_ATTEMPTS_SHOWN = 50;

/**
 * Subscriptions and their delivery log for the admin API (SPEC §3, §4). A secret leaves this
 * service only in the answers to `create` and `rotateSecret`.
 */
export class WebhookSubscriptionsService {
  private readonly clock: () => Date;

  constructor(
    private readonly pool: Pool,
    private readonly dispatcher: WebhookDispatcher,
    private readonly guard: WebhookUrlGuard,
    private readonly options: WebhookSubscriptionsServiceOptions,
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  /**
   * Throws WebhookUrlRefusedError for a URL that is not http(s) or not public. With an
   * idempotency key (scoped to the caller), a retry answers with the subscription the first
   * request made, its secret included (the retry is for a lost answer); the same key with
   * another request throws CommandIdReusedError. A key whose subscription was deleted since
   * throws SubscriptionDeletedSinceError: the retry does not bring it back.
   */
  async create(
    input: CreateWebhookSubscriptionInput,
    idempotency?: IdempotencyKey,
    retried = false,
  ): Promise<WebhookSubscriptionWithSecret> {
    if (idempotency) {
      // A retry is answered before the URL is checked again: the first request checked it, and
      // its host may resolve elsewhere (or nowhere) by now.
      const first = await this.createdBefore(idempotency, this.clock());
      if (first) return first;
    }
    // Stored as it will be called: the URL normalised (`HTTP://A/` is `http://a/`).
    const url = (await this.guard.check(input.url)).href;
    const now = this.clock();
    const made = await this.insertSubscription({ ...input, url }, now, idempotency);
    if (made) return made;
    // The key was claimed meanwhile: answer as its request did (once it has committed).
    const first = await this.createdBefore(idempotency!, now);
    if (first) return first;
    if (!retried) return this.create(input, idempotency, true);
    throw new WebhookStateConflictError(
      'idempotency-key-in-use',
      'Another request with this Idempotency-Key changed its subscription meanwhile; retry.',
    );
  }

  /**
   * Inserts the subscription and claims its idempotency key in one transaction: undefined, and
   * nothing written, when another request holds the key (a racing one is waited for).
   */
  private async insertSubscription(
    input: CreateWebhookSubscriptionInput,
    now: Date,
    idempotency: IdempotencyKey | undefined,
  ): Promise<WebhookSubscriptionWithSecret | undefined> {
    const secret = generateWebhookSecret();
    try {
      return await inTransaction(this.pool, async (client) => {
        const { rows } = await client.query<SubscriptionRow>(
          `INSERT INTO webhook_subscriptions
             (id, url, description, event_types, filters, lead_times, format, enabled, disabled_at,
              disabled_reason, secret, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                   CASE WHEN $8 THEN NULL ELSE 'Created disabled through the API' END, $10, $11, $11)
           RETURNING ${PUBLIC_SUBSCRIPTION_COLUMNS}`,
          [
            randomUUID(),
            input.url,
            input.description,
            input.eventTypes,
            JSON.stringify(input.filters),
            input.leadTimes,
            input.format,
            input.enabled,
            input.enabled ? null : now,
            secret,
            now,
          ],
        );
        const created = toSubscription(rows[0]);
        if (
          idempotency &&
          !(await insertKey(client, idempotency, created.id, now, {
            creation: true,
            secretDigest: secretDigest(secret),
          }))
        )
          throw new KeyClaimedElsewhere();
        return { ...created, secret };
      });
    } catch (error) {
      if (error instanceof KeyClaimedElsewhere) return undefined;
      throw error;
    }
  }

  /**
   * The subscription an earlier request with this idempotency key made, with the secret it was
   * made with: not once a rotation has replaced that secret, nor past the replay window. It is
   * answered as it is now (as a creation's retry always was). Undefined: the key is free.
   */
  private async createdBefore(
    idempotency: IdempotencyKey,
    now: Date,
  ): Promise<WebhookSubscriptionWithSecret | undefined> {
    const first = await this.recordOf(idempotency);
    if (!first) return undefined;
    ensureSameRequest(first, idempotency, { creation: true });
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT ${PUBLIC_SUBSCRIPTION_COLUMNS}, secret FROM webhook_subscriptions WHERE id = $1`,
      [first.subscription_id],
    );
    const current = rows[0];
    // Deleted since says more than expired (whose advice, rotate, has nothing left to rotate).
    if (!current) throw new SubscriptionDeletedSinceError(first.subscription_id);
    this.ensureReplayable(first.created_at, now);
    if (first.secret_digest !== secretDigest(current.secret))
      throw new SecretSupersededError('creation', current.id, 1, current.version);
    return { ...toSubscription(current), secret: current.secret };
  }

  /** The committed record of a key, read without waiting for a request that holds it. */
  private async recordOf(idempotency: IdempotencyKey): Promise<IdempotencyKeyRow | undefined> {
    const { rows } = await this.pool.query<IdempotencyKeyRow>(
      'SELECT * FROM webhook_idempotency_keys WHERE idempotency_key = $1',
      [idempotency.key],
    );
    return rows[0];
  }

  async list(query: { cursor?: string; limit: number }): Promise<Page<WebhookSubscription>> {
    const after = decodeCursor(query.cursor);
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT ${PUBLIC_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions
       WHERE ($1::timestamptz IS NULL OR (created_at, id) > ($1, $2::uuid))
       ORDER BY created_at, id LIMIT $3`,
      [after?.at ?? null, after?.id ?? null, query.limit + 1],
    );
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toSubscription),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  async get(id: string): Promise<WebhookSubscription> {
    return toSubscription(await this.row(id));
  }

  /**
   * Changes what is given; a patch that changes nothing leaves the version and `updatedAt` as
   * they are (If-Match is still checked). Re-enabling clears the failure count and the reason,
   * and replays what the subscription missed: every delivery that failed (or was not sent)
   * since it began failing or was disabled, with its own webhook-id. With an idempotency key, a
   * retry answers as the first request did (the subscription as that change left it) and
   * changes nothing.
   */
  async update(
    id: string,
    patch: UpdateWebhookSubscriptionInput,
    ifMatch?: readonly number[],
    idempotency?: IdempotencyKey,
  ): Promise<WebhookSubscription> {
    if (patch.url !== undefined) {
      // An unknown subscription is not found, whatever its new URL would have been.
      await this.row(id);
      // A retry is answered before the URL is checked again: the first request checked it, and
      // its host may resolve elsewhere (or nowhere) by now. The key is only read here, so that
      // no row stays locked during DNS; the claim below settles a request racing this one.
      const first = idempotency && (await this.recordOf(idempotency));
      if (idempotency && first) {
        ensureSameRequest(first, idempotency, { subscriptionId: id.toLowerCase() });
        return subscriptionFromJson(first.answer as SubscriptionJson);
      }
      patch = { ...patch, url: (await this.guard.check(patch.url)).href };
    }
    const now = this.clock();
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<SubscriptionRow>(
        'SELECT * FROM webhook_subscriptions WHERE id = $1 FOR UPDATE',
        [this.checkId(id)],
      );
      const current = rows[0];
      if (!current) throw new WebhookSubscriptionNotFoundError(id);
      const first = idempotency && (await this.claimKey(client, id, idempotency, now));
      if (first) return subscriptionFromJson(first.answer as SubscriptionJson);
      ensureVersion(id, current.version, ifMatch);
      const enabling = patch.enabled === true && !current.enabled;
      const disabling = patch.enabled === false && current.enabled;
      // A patch that changes nothing (`{}`, or the values the subscription has) writes nothing:
      // the version counts changes, and other clients' If-Match must keep holding.
      const result = await client.query<SubscriptionRow>(
        `UPDATE webhook_subscriptions SET
           url = coalesce($2, url), description = coalesce($3, description),
           event_types = coalesce($4, event_types), filters = coalesce($5::jsonb, filters),
           lead_times = coalesce($6, lead_times), format = coalesce($7, format),
           enabled = coalesce($8, enabled),
           disabled_reason = CASE WHEN $9 THEN NULL WHEN $10 THEN 'Disabled through the API' ELSE disabled_reason END,
           disabled_at = CASE WHEN $9 THEN NULL WHEN $10 THEN $11 ELSE disabled_at END,
           consecutive_failures = CASE WHEN $9 THEN 0 ELSE consecutive_failures END,
           failing_since = CASE WHEN $9 THEN NULL ELSE failing_since END,
           updated_at = $11, version = version + 1
         WHERE id = $1
           AND (url, description, event_types, filters, lead_times, format, enabled)
               IS DISTINCT FROM (coalesce($2, url), coalesce($3, description),
                 coalesce($4, event_types), coalesce($5::jsonb, filters),
                 coalesce($6, lead_times), coalesce($7, format), coalesce($8, enabled))
         RETURNING ${PUBLIC_SUBSCRIPTION_COLUMNS}`,
        [
          id,
          patch.url ?? null,
          patch.description ?? null,
          patch.eventTypes ?? null,
          patch.filters ? JSON.stringify(patch.filters) : null,
          patch.leadTimes ?? null,
          patch.format ?? null,
          patch.enabled ?? null,
          enabling,
          disabling,
          now,
        ],
      );
      if (enabling) {
        const since = [current.failing_since, current.disabled_at]
          .filter((value): value is Date => value !== null)
          .sort((a, b) => a.getTime() - b.getTime())[0];
        const reopened = await reopenDeliveries(
          client,
          `subscription_id = $1 AND status = 'failed' AND ($2::timestamptz IS NULL OR updated_at >= $2)`,
          [id, since ?? null],
          now,
        );
        if (reopened.length) await notifyDeliveries(client);
      }
      // No row: the patch changed nothing, and the subscription is answered as it is.
      const changed = toSubscription(result.rows[0] ?? current);
      if (idempotency) await recordAnswer(client, idempotency, changed);
      return changed;
    });
  }

  /**
   * Deletes the subscription, its deliveries and their attempts. Deliveries and attempts have
   * no foreign keys (each cost a lock per row written): the subscription goes first, so that a
   * dispatch, which locks the subscriptions it writes to, either finished before (its rows are
   * deleted here) or writes none for it. An attempt being recorded at this very moment may
   * leave its log row behind, unreachable.
   */
  async delete(id: string, ifMatch?: readonly number[]): Promise<void> {
    this.checkId(id);
    await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ version: number }>(
        'DELETE FROM webhook_subscriptions WHERE id = $1 RETURNING version',
        [id],
      );
      if (!rows[0]) throw new WebhookSubscriptionNotFoundError(id);
      // Undone with the transaction when the precondition fails.
      ensureVersion(id, rows[0].version, ifMatch);
      await client.query(
        `WITH deliveries AS (
           DELETE FROM webhook_deliveries WHERE subscription_id = $1 RETURNING id
         )
         DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM deliveries)`,
        [id],
      );
    });
  }

  /**
   * A new current secret; the one it replaces keeps signing (a second signature) for the grace
   * period, so that receivers can switch without losing a message. A secret from an earlier
   * rotation still in its grace period stops signing.
   *
   * With an idempotency key, a retry rotates nothing: it answers with the first rotation's
   * result (its secret, its version) while that secret is still the current one, and with a
   * SecretSupersededError once another rotation has replaced it.
   */
  async rotateSecret(
    id: string,
    ifMatch?: readonly number[],
    idempotency?: IdempotencyKey,
  ): Promise<WebhookSubscriptionWithSecret> {
    const now = this.clock();
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Pick<SubscriptionRow, 'secret' | 'version'>>(
        'SELECT secret, version FROM webhook_subscriptions WHERE id = $1 FOR NO KEY UPDATE',
        [this.checkId(id)],
      );
      const current = rows[0];
      if (!current) throw new WebhookSubscriptionNotFoundError(id);
      const first = idempotency && (await this.claimKey(client, id, idempotency, now));
      if (first) {
        const rotatedBefore = subscriptionFromJson(first.answer as SubscriptionJson);
        this.ensureReplayable(first.created_at, now);
        if (first.secret_digest !== secretDigest(current.secret))
          throw new SecretSupersededError(
            'rotation',
            rotatedBefore.id,
            rotatedBefore.version,
            current.version,
          );
        return { ...rotatedBefore, secret: current.secret };
      }
      ensureVersion(id, current.version, ifMatch);
      const secret = generateWebhookSecret();
      const updated = await client.query<SubscriptionRow>(
        `UPDATE webhook_subscriptions
         SET previous_secret = secret, previous_secret_expires_at = $3, secret = $2,
             updated_at = $4, version = version + 1
         WHERE id = $1
         RETURNING ${PUBLIC_SUBSCRIPTION_COLUMNS}`,
        [id, secret, new Date(now.getTime() + this.options.secretGraceMs), now],
      );
      const rotated = toSubscription(updated.rows[0]);
      if (idempotency) await recordAnswer(client, idempotency, rotated, secretDigest(secret));
      return { ...rotated, secret };
    });
  }

  /**
   * Sends a `ping` to this subscription only, now (through the relay like any delivery). With
   * an idempotency key, a retry answers with the first request's ping and sends none.
   */
  async test(id: string, idempotency?: IdempotencyKey): Promise<TestPing> {
    const now = this.clock();
    const messageKey = `ping:${randomUUID()}`;
    return inTransaction(this.pool, async (client) => {
      const current = await this.sharedRow(client, id);
      const first = idempotency && (await this.claimKey(client, id, idempotency, now));
      if (first) return first.answer as TestPing;
      ensureEnabled(current, 'sending a test');
      await this.dispatcher.dispatch(client, {
        type: 'ping',
        messageKey,
        data: { subscriptionId: id, message: 'A test from Accord', sentAt: now.toISOString() },
        match: { parties: [] },
        occurredAt: now,
        subscriptionIds: [id],
      });
      const { rows } = await client.query<{ id: string }>(
        'SELECT id FROM webhook_deliveries WHERE message_key = $1 AND subscription_id = $2',
        [messageKey, id],
      );
      const ping: TestPing = { deliveryId: rows[0].id, webhookId: webhookIdFor(messageKey, id) };
      if (idempotency) await recordAnswer(client, idempotency, ping);
      return ping;
    });
  }

  /** The delivery log, newest first, each delivery with its attempts. */
  async deliveries(
    id: string,
    query: { cursor?: string; limit: number; status?: DeliveryStatus },
  ): Promise<Page<WebhookDeliveryWithAttempts>> {
    const { format } = await this.row(id);
    const before = decodeCursor(query.cursor);
    const now = this.clock();
    // A claimed pending row shows as `delivering` (see isBeingAttempted); filter the same way.
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_SELECT}
       WHERE d.subscription_id = $1
         AND ($2::text IS NULL OR CASE
               WHEN d.status = 'pending' AND d.claimed_until > $6 THEN 'delivering' ELSE d.status END = $2)
         AND ($3::timestamptz IS NULL OR (d.created_at, d.id) < ($3, $4::uuid))
       ORDER BY d.created_at DESC, d.id DESC LIMIT $5`,
      [id, query.status ?? null, before?.at ?? null, before?.id ?? null, query.limit + 1, now],
    );
    const page = rows.slice(0, query.limit);
    const attempts = await this.attemptsOf(page.map((row) => row.id));
    const last = page[page.length - 1];
    return {
      items: page.map((row) => ({
        ...toDelivery(row, format, now),
        attemptLog: attempts.get(row.id) ?? [],
      })),
      nextCursor: rows.length > query.limit && last ? encodeCursor(last.created_at, last.id) : null,
    };
  }

  async delivery(id: string, deliveryId: string): Promise<WebhookDeliveryWithAttempts> {
    const subscription = await this.row(id);
    const row = await this.deliveryRow(subscription, deliveryId);
    const attempts = await this.attemptsOf([row.id]);
    return {
      ...toDelivery(row, subscription.format, this.clock()),
      attemptLog: attempts.get(row.id) ?? [],
    };
  }

  /**
   * Sends a delivery again now, with its webhook-id: a failed or succeeded one starts a new run
   * of attempts, a pending one is brought forward. A cancelled one (its alert was withdrawn)
   * and one being attempted right now are refused.
   *
   * With an idempotency key, a retry of this request sends nothing again (the delivery may
   * have succeeded since, and a second run would send it once more): it answers with the
   * delivery as it is now.
   */
  async retry(
    id: string,
    deliveryId: string,
    idempotency?: IdempotencyKey,
  ): Promise<WebhookDeliveryWithAttempts> {
    return inTransaction(this.pool, async (client) => {
      const current = await this.sharedRow(client, id);
      const first = idempotency && (await this.claimKey(client, id, idempotency, this.clock()));
      if (!first) {
        ensureEnabled(current, 'retrying a delivery');
        const row = await this.deliveryRow(current, deliveryId, client);
        if (row.status === 'cancelled' || isBeingAttempted(row, this.clock()))
          throw new WebhookStateConflictError(
            'webhook-delivery-not-retryable',
            row.status === 'cancelled'
              ? 'The delivery was cancelled: its message was withdrawn.'
              : 'The delivery is being attempted right now.',
          );
        const reopened = await reopenDeliveries(
          client,
          `id = $1 AND status IN ('failed', 'succeeded', 'pending')`,
          [row.id],
          this.clock(),
        );
        if (reopened.length) await notifyDeliveries(client);
        if (idempotency) await recordAnswer(client, idempotency, null);
      }
      // Answered as the retry left it, read before the commit: a worker may take it at once.
      const row = await this.deliveryRow(current, deliveryId, client);
      const attempts = await this.attemptsOf([row.id], client);
      return {
        ...toDelivery(row, current.format, this.clock()),
        attemptLog: attempts.get(row.id) ?? [],
      };
    });
  }

  /**
   * Re-sends every delivery created in [since, until) that is not open or cancelled, each with
   * its own webhook-id, so receivers that kept the first copy can drop the second. With an
   * idempotency key, a retry answers as the first request did and re-sends nothing.
   */
  async replay(
    id: string,
    window: { since: Date; until: Date },
    idempotency?: IdempotencyKey,
  ): Promise<{ replayed: number }> {
    return inTransaction(this.pool, async (client) => {
      const current = await this.sharedRow(client, id);
      const first = idempotency && (await this.claimKey(client, id, idempotency, this.clock()));
      if (first) return first.answer as { replayed: number };
      ensureEnabled(current, 'replaying deliveries');
      const ids = await reopenDeliveries(
        client,
        `subscription_id = $1 AND created_at >= $2 AND created_at < $3
         AND status IN ('succeeded', 'failed')`,
        [id, window.since, window.until],
        this.clock(),
      );
      if (ids.length) await notifyDeliveries(client);
      const replayed = { replayed: ids.length };
      if (idempotency) await recordAnswer(client, idempotency, replayed);
      return replayed;
    });
  }

  /**
   * Claims an idempotency key for a write on this subscription, in the write's transaction
   * (after the subscription's row, which it needs). The claim holds the key until the write
   * commits: a request racing the first with the same key (a retry, another write, a creation)
   * waits here or at its own claim, then finds the key taken. A key taken answers with the
   * record of the request that took it, which the caller answers from instead of writing; one
   * taken by another request (another route, subscription, body or query: the fingerprint), or
   * by a creation, is refused.
   */
  private async claimKey(
    client: PoolClient,
    id: string,
    idempotency: IdempotencyKey,
    now: Date,
  ): Promise<IdempotencyKeyRow | undefined> {
    // Compared with the row's uuid, which PostgreSQL gives back in lower case.
    const subscriptionId = id.toLowerCase();
    if (await insertKey(client, idempotency, subscriptionId, now)) return undefined;
    const { rows } = await client.query<IdempotencyKeyRow>(
      'SELECT * FROM webhook_idempotency_keys WHERE idempotency_key = $1',
      [idempotency.key],
    );
    const first = rows[0];
    // Held a moment ago by a request that then rolled back: the key is free again.
    if (!first)
      throw new WebhookStateConflictError(
        'idempotency-key-in-use',
        'Another request with this Idempotency-Key changed its subscription meanwhile; retry.',
      );
    ensureSameRequest(first, idempotency, { subscriptionId });
    return first;
  }

  private async row(id: string): Promise<SubscriptionRow> {
    const { rows } = await this.pool.query<SubscriptionRow>(
      `SELECT ${PUBLIC_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1`,
      [this.checkId(id)],
    );
    if (!rows[0]) throw new WebhookSubscriptionNotFoundError(id);
    return rows[0];
  }

  /**
   * The subscription, kept from being deleted until the transaction ends (`FOR KEY SHARE`:
   * the deliverer may still count its failures meanwhile, and dispatches take the same lock).
   */
  private async sharedRow(client: PoolClient, id: string): Promise<SubscriptionRow> {
    const { rows } = await client.query<SubscriptionRow>(
      `SELECT ${PUBLIC_SUBSCRIPTION_COLUMNS} FROM webhook_subscriptions WHERE id = $1 FOR KEY SHARE`,
      [this.checkId(id)],
    );
    if (!rows[0]) throw new WebhookSubscriptionNotFoundError(id);
    return rows[0];
  }

  /** One of the subscription's deliveries (another subscription's is not found). */
  private async deliveryRow(
    subscription: Pick<SubscriptionRow, 'id'>,
    deliveryId: string,
    db: PgQueryable = this.pool,
  ): Promise<DeliveryRow> {
    if (!UUID.test(deliveryId)) throw new WebhookDeliveryNotFoundError(deliveryId);
    const { rows } = await db.query<DeliveryRow>(
      `SELECT ${DELIVERY_SELECT} WHERE d.id = $1 AND d.subscription_id = $2`,
      [deliveryId, subscription.id],
    );
    if (!rows[0]) throw new WebhookDeliveryNotFoundError(deliveryId);
    return rows[0];
  }

  private async attemptsOf(deliveryIds: string[], db: PgQueryable = this.pool) {
    const { rows } = await db.query<AttemptRow>(
      `SELECT * FROM (
         SELECT a.*, row_number() OVER (PARTITION BY delivery_id ORDER BY attempted_at DESC, id DESC) AS n
         FROM webhook_attempts a WHERE delivery_id = ANY($1::uuid[])
       ) recent WHERE n <= $2
       ORDER BY attempted_at, id`,
      [deliveryIds, MAX_ATTEMPTS_SHOWN],
    );
    const byDelivery = new Map<string, ReturnType<typeof toAttempt>[]>();
    for (const row of rows) {
      const list = byDelivery.get(row.delivery_id) ?? [];
      list.push(toAttempt(row));
      byDelivery.set(row.delivery_id, list);
    }
    return byDelivery;
  }

  /** A secret is shown again to a retry only within the replay window of its request. */
  private ensureReplayable(answeredAt: Date, now: Date): void {
    const windowMs = this.options.secretReplayMs ?? DEFAULT_SECRET_REPLAY_MS;
    if (now.getTime() - answeredAt.getTime() <= windowMs) return;
    throw new WebhookStateConflictError(
      'idempotency-key-expired',
      'The request with this Idempotency-Key was answered too long ago for its secret to be ' +
        'shown again; nothing was changed. Rotate with a new key to get a secret.',
    );
  }

  /** A subscription id as PostgreSQL spells it back (lower case), or not found. */
  private checkId(id: string): string {
    if (!UUID.test(id)) throw new WebhookSubscriptionNotFoundError(id);
    return id.toLowerCase();
  }
}

/**
 * A subscription that can send now: a disabled one's deliveries would only be marked "not
 * sent", so tests, retries and replays are refused until it is enabled again (which replays
 * what it missed).
 */
function ensureEnabled(subscription: Pick<SubscriptionRow, 'enabled'>, doing: string): void {
  if (!subscription.enabled)
    throw new WebhookStateConflictError(
      'webhook-subscription-disabled',
      `The subscription is disabled; enable it before ${doing}.`,
    );
}

/** Thrown inside a creation's transaction to undo it: another request holds its key. */
class KeyClaimedElsewhere extends Error {}

/**
 * Claims a key for a request on a subscription: the one place every subscription key is
 * claimed, creation included, so that a key serves one request only. Waits for a request
 * holding the key uncommitted; false when the key is (then) taken.
 */
async function insertKey(
  client: PoolClient,
  idempotency: IdempotencyKey,
  subscriptionId: string,
  now: Date,
  creation?: { creation: true; secretDigest: string },
): Promise<boolean> {
  const claimed = await client.query(
    `INSERT INTO webhook_idempotency_keys
       (idempotency_key, subscription_id, request_fingerprint, created_at, creation, secret_digest)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (idempotency_key) DO NOTHING`,
    [
      idempotency.key,
      subscriptionId,
      idempotency.fingerprint,
      now,
      creation !== undefined,
      creation?.secretDigest ?? null,
    ],
  );
  return claimed.rowCount === 1;
}

/**
 * A key's record is for this very request: a creation's for a creation with the same body, a
 * write's for a write on the same subscription with the same fingerprint. Otherwise the key
 * was spent on another request (CommandIdReusedError, 422 `idempotency-key-reused`).
 */
function ensureSameRequest(
  first: IdempotencyKeyRow,
  idempotency: IdempotencyKey,
  request: { creation: true } | { subscriptionId: string },
): void {
  const same =
    'creation' in request
      ? first.creation
      : !first.creation && first.subscription_id === request.subscriptionId;
  if (same && first.request_fingerprint === idempotency.fingerprint) return;
  throw new CommandIdReusedError(
    idempotency.key,
    `webhook-subscription-${first.subscription_id}`,
    'creation' in request ? '' : `webhook-subscription-${request.subscriptionId}`,
  );
}

/**
 * Keeps, on the key claimed for it, what a write answered (null: a retry answers from the
 * current state), so that a retry can answer the same. Never a secret: a rotation's is kept
 * as its digest.
 */
async function recordAnswer(
  client: PoolClient,
  idempotency: IdempotencyKey,
  answer: object | null,
  rotatedSecretDigest: string | null = null,
): Promise<void> {
  await client.query(
    `UPDATE webhook_idempotency_keys SET answer = $2, secret_digest = $3
     WHERE idempotency_key = $1`,
    [idempotency.key, answer === null ? null : JSON.stringify(answer), rotatedSecretDigest],
  );
}

function encodeCursor(at: Date, id: string): string {
  return Buffer.from(JSON.stringify([at.toISOString(), id])).toString('base64url');
}

/**
 * A cursor this list handed out, or none (absent or empty: the first page). Anything else is
 * refused, as the alerts list refuses it, rather than read as "from the start": a client that
 * mangled its cursor would otherwise be handed the first page again and again.
 */
function decodeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  if (!cursor) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [at, id] = parsed as unknown[];
      if (typeof at === 'string' && typeof id === 'string' && UUID.test(id)) {
        const date = new Date(at);
        if (isInStorableRange(date)) return { at: date, id };
      }
    }
  } catch {
    // Not base64url JSON: refused below.
  }
  throw new InvalidWebhookCursorError(cursor);
}

/**
 * `If-Match` on a subscription: the precondition holds when a listed version is the current
 * one (none listed, or `*`: any). Answered as a stream's version conflict is (412).
 */
function ensureVersion(id: string, current: number, ifMatch: readonly number[] | undefined): void {
  if (ifMatch === undefined || ifMatch.includes(current)) return;
  throw new WrongExpectedVersionError(
    `webhook-subscription-${id}`,
    Math.max(-1, ...ifMatch),
    current,
  );
}
