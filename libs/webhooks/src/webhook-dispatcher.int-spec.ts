import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { generateWebhookSecret, webhookIdFor } from './webhook-secret';
import { NOT_SENT_DISABLED, WebhookDispatcher } from './webhook-dispatcher';
import { WebhookSubscriptionsService } from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';
import type { WebhookMessage } from './webhook-message';

describe('WebhookDispatcher on PostgreSQL', () => {
  let db: TestDatabase;
  const now = new Date('2026-11-01T00:00:00Z');
  const dispatcher = new WebhookDispatcher({
    defaultLeadTimes: ['P90D', 'P30D', 'P7D', 'P1D', 'PT0S'],
    clock: () => now,
  });

  async function subscribe(fields: {
    eventTypes: string[];
    filters?: object;
    leadTimes?: string[];
    enabled?: boolean;
  }): Promise<string> {
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO webhook_subscriptions
         (id, url, event_types, filters, lead_times, enabled, secret, created_at, updated_at)
       VALUES ($1, 'http://127.0.0.1:9/hook', $2, $3, $4, $5, $6, now(), now())`,
      [
        id,
        fields.eventTypes,
        JSON.stringify(fields.filters ?? {}),
        fields.leadTimes ?? [],
        fields.enabled ?? true,
        generateWebhookSecret(),
      ],
    );
    return id;
  }

  const deliveriesOf = async (subscriptionId: string) =>
    (
      await db.pool.query(
        `SELECT d.*, m.payload FROM webhook_deliveries d
           JOIN webhook_messages m ON m.message_key = d.message_key
          WHERE d.subscription_id = $1 ORDER BY d.created_at`,
        [subscriptionId],
      )
    ).rows;

  const expiring = (overrides: Partial<WebhookMessage> = {}): WebhookMessage => ({
    type: 'suspension.expiring',
    messageKey: `alert-${randomUUID()}`,
    data: { measure: { code: 'US-301' } },
    match: {
      parties: ['US', 'CN'],
      measureKind: 'tariff',
      measureCode: 'US-301',
      leadTime: 'P30D',
    },
    ...overrides,
  });

  beforeAll(async () => {
    db = await createTestDatabase('webhook_dispatch');
  });
  afterAll(async () => {
    await db.drop();
  });

  it('records one delivery per matching subscription, idempotently, with a stable webhook-id', async () => {
    const all = await subscribe({ eventTypes: ['*'] });
    const suspensions = await subscribe({
      eventTypes: ['suspension.*'],
      filters: { parties: ['cn'] },
    });
    const otherParty = await subscribe({ eventTypes: ['*'], filters: { parties: ['JP'] } });
    const otherKind = await subscribe({
      eventTypes: ['*'],
      filters: { measureKinds: ['sanction'] },
    });
    const otherLead = await subscribe({ eventTypes: ['*'], leadTimes: ['P14D'] });
    const lapsedOnly = await subscribe({ eventTypes: ['suspension.lapsed'] });
    const message = expiring();

    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await dispatcher.dispatch(client, message);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await db.dataSource.transaction((manager) => dispatcher.dispatch(manager, message));

    for (const id of [all, suspensions]) {
      const rows = await deliveriesOf(id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        webhook_id: webhookIdFor(message.messageKey, id),
        status: 'pending',
        event_type: 'suspension.expiring',
        payload: { type: 'suspension.expiring', timestamp: now.toISOString(), data: message.data },
      });
    }
    for (const id of [otherParty, otherKind, otherLead, lapsedOnly])
      expect(await deliveriesOf(id)).toEqual([]);
    // The payload is stored once, whatever the number of subscriptions.
    const { rows: stored } = await db.pool.query(
      'SELECT event_type, payload FROM webhook_messages WHERE message_key = $1',
      [message.messageKey],
    );
    expect(stored).toEqual([
      {
        event_type: 'suspension.expiring',
        payload: { type: 'suspension.expiring', timestamp: now.toISOString(), data: message.data },
      },
    ]);
  });

  it('dispatches a batch with one row per message, only for messages someone receives', async () => {
    const lapsed = await subscribe({ eventTypes: ['suspension.lapsed'] });
    const heard: WebhookMessage = {
      ...expiring(),
      type: 'suspension.lapsed',
      match: { parties: ['US', 'CN'] },
    };
    // Named for no subscription: nobody receives it.
    const unheard = expiring({ subscriptionIds: [] });

    const counts = await db.dataSource.transaction((manager) =>
      dispatcher.dispatchMany(manager, [heard, unheard, heard]),
    );

    expect(counts[0]).toBeGreaterThanOrEqual(1);
    expect(counts.slice(1)).toEqual([0, 0]);
    expect(await deliveriesOf(lapsed)).toEqual([
      expect.objectContaining({
        message_key: heard.messageKey,
        webhook_id: webhookIdFor(heard.messageKey, lapsed),
        payload: expect.objectContaining({ type: 'suspension.lapsed' }),
      }),
    ]);
    const { rows } = await db.pool.query(
      'SELECT message_key FROM webhook_messages WHERE message_key = ANY($1)',
      [[heard.messageKey, unheard.messageKey]],
    );
    expect(rows).toEqual([{ message_key: heard.messageKey }]);
  });

  it('writes nothing when the caller rolls back', async () => {
    const id = await subscribe({ eventTypes: ['*'] });
    await expect(
      db.dataSource.transaction(async (manager) => {
        expect(await dispatcher.dispatch(manager, expiring())).toBeGreaterThanOrEqual(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await deliveriesOf(id)).toEqual([]);
  });

  it('records a disabled subscription’s delivery as failed and not sent, and cancels by key', async () => {
    const disabled = await subscribe({ eventTypes: ['*'], enabled: false });
    const enabled = await subscribe({ eventTypes: ['*'] });
    const message = expiring();
    await dispatcher.dispatch(db.pool, message);
    expect((await deliveriesOf(disabled))[0]).toMatchObject({ status: 'failed', attempts: 0 });

    expect(await dispatcher.cancel(db.pool, message.messageKey)).toBeGreaterThanOrEqual(1);
    expect((await deliveriesOf(enabled))[0]).toMatchObject({ status: 'cancelled' });
    expect((await deliveriesOf(disabled))[0]).toMatchObject({ status: 'failed' });
  });

  describe('staged messages (the outbox of a burst)', () => {
    const stagedKeys = async (keys: string[]) =>
      (
        await db.pool.query<{ message_key: string }>(
          'SELECT message_key FROM webhook_messages WHERE message_key = ANY($1) AND recipients IS NOT NULL',
          [keys],
        )
      ).rows.map((row) => row.message_key);

    it('commits no delivery with the message, then writes what dispatch would have', async () => {
      const all = await subscribe({ eventTypes: ['*'] });
      const disabled = await subscribe({ eventTypes: ['*'], enabled: false });
      const otherParty = await subscribe({ eventTypes: ['*'], filters: { parties: ['JP'] } });
      const message = expiring({ deadline: new Date('2026-12-01T00:00:00Z') });
      const staged = await db.dataSource.transaction((manager) =>
        dispatcher.stageMany(manager, [message, message]),
      );
      expect(staged[0]).toBeGreaterThanOrEqual(2);
      expect(staged[1]).toBe(0);
      expect(await deliveriesOf(all)).toEqual([]);
      expect(await stagedKeys([message.messageKey])).toEqual([message.messageKey]);

      const expanded = await dispatcher.expandStaged(db.pool, { keys: [message.messageKey] });

      // The row dispatch writes, down to the webhook-id computed in SQL rather than in Node.
      expect(expanded.get(message.messageKey)).toBeGreaterThanOrEqual(1);
      expect(await deliveriesOf(all)).toEqual([
        expect.objectContaining({
          webhook_id: webhookIdFor(message.messageKey, all),
          status: 'pending',
          event_type: 'suspension.expiring',
          deadline: new Date('2026-12-01T00:00:00Z'),
          created_at: now,
          next_attempt_at: now,
          payload: {
            type: 'suspension.expiring',
            timestamp: now.toISOString(),
            data: message.data,
          },
        }),
      ]);
      expect((await deliveriesOf(all))[0].id).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect((await deliveriesOf(disabled))[0]).toMatchObject({ status: 'failed', attempts: 0 });
      expect(await deliveriesOf(otherParty)).toEqual([]);
      expect(await stagedKeys([message.messageKey])).toEqual([]);
      // Expanding again writes nothing twice.
      expect(await dispatcher.expandStaged(db.pool, { keys: [message.messageKey] })).toEqual(
        new Map(),
      );
      expect(await deliveriesOf(all)).toHaveLength(1);
    });

    it('leaves nothing staged when the caller rolls back', async () => {
      await subscribe({ eventTypes: ['*'] });
      const message = expiring();
      await expect(
        db.dataSource.transaction(async (manager) => {
          await dispatcher.stageMany(manager, [message]);
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      const { rows } = await db.pool.query(
        'SELECT 1 FROM webhook_messages WHERE message_key = $1',
        [message.messageKey],
      );
      expect(rows).toEqual([]);
    });

    it('a sweep writes the deliveries of messages left staged, oldest first, not newer ones', async () => {
      const all = await subscribe({ eventTypes: ['*'] });
      const left = expiring();
      const fresh = expiring();
      await dispatcher.stageMany(db.pool, [left]);
      await db.pool.query(
        `UPDATE webhook_messages SET created_at = created_at - interval '1 minute'
          WHERE message_key = $1`,
        [left.messageKey],
      );
      await dispatcher.stageMany(db.pool, [fresh]);

      const swept = await dispatcher.expandStaged(db.pool, {
        stagedBefore: new Date(now.getTime() - 10_000),
        limit: 100,
      });

      expect([...swept.keys()]).toContain(left.messageKey);
      expect(swept.has(fresh.messageKey)).toBe(false);
      const keys = (await deliveriesOf(all)).map((row) => row.message_key);
      expect(keys).toContain(left.messageKey);
      expect(keys).not.toContain(fresh.messageKey);
      expect(await stagedKeys([fresh.messageKey])).toEqual([fresh.messageKey]);
      await dispatcher.expandStaged(db.pool, { keys: [fresh.messageKey] });
    });

    it('staging a key again adds its new subscriptions only, as a second dispatch does', async () => {
      const first = await subscribe({ eventTypes: ['*'] });
      const message = expiring();
      await dispatcher.dispatch(db.pool, message);
      const later = await subscribe({ eventTypes: ['*'] });

      await dispatcher.stageMany(db.pool, [message]);
      await dispatcher.expandStaged(db.pool, { keys: [message.messageKey] });

      expect(await deliveriesOf(first)).toHaveLength(1);
      expect(await deliveriesOf(later)).toEqual([
        expect.objectContaining({ webhook_id: webhookIdFor(message.messageKey, later) }),
      ]);
    });

    it('a subscription disabled while a message was staged gets it when re-enabled', async () => {
      let clock = new Date('2026-11-01T00:00:00Z');
      const subscriptions = new WebhookSubscriptionsService(
        db.pool,
        dispatcher,
        new WebhookUrlGuard({ allowPrivateNetworks: true }),
        { secretGraceMs: 0, clock: () => clock },
      );
      const target = await subscribe({ eventTypes: ['*'] });
      const message = expiring();
      await dispatcher.stageMany(db.pool, [message]);
      // Disabled after the staging, before the rows are written (a crash in between, say).
      clock = new Date('2026-11-01T00:00:05Z');
      await subscriptions.update(target, { enabled: false });
      const late = new WebhookDispatcher({
        defaultLeadTimes: ['PT0S'],
        clock: () => new Date('2026-11-01T00:00:10Z'),
      });
      await late.expandStaged(db.pool, { keys: [message.messageKey] });
      expect(await deliveriesOf(target)).toEqual([
        expect.objectContaining({ status: 'failed', last_error: NOT_SENT_DISABLED }),
      ]);

      clock = new Date('2026-11-01T00:00:20Z');
      await subscriptions.update(target, { enabled: true });

      expect(await deliveriesOf(target)).toEqual([
        expect.objectContaining({ message_key: message.messageKey, status: 'pending' }),
      ]);
    });

    it('cancelling a staged message writes its rows cancelled, so no sweep sends them later', async () => {
      const all = await subscribe({ eventTypes: ['*'] });
      const message = expiring();
      await dispatcher.stageMany(db.pool, [message]);

      expect(await dispatcher.cancel(db.pool, message.messageKey)).toBeGreaterThanOrEqual(1);

      expect(await deliveriesOf(all)).toEqual([
        expect.objectContaining({ message_key: message.messageKey, status: 'cancelled' }),
      ]);
      expect(await stagedKeys([message.messageKey])).toEqual([]);
    });
  });
});
