import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookDispatcher } from '../webhook-dispatcher';
import { generateWebhookSecret } from '../webhook-secret';
import { WebhookSubscriptionsService } from '../webhook-subscriptions.service';
import { WebhookUrlGuard } from '../webhook-url-guard';
import { WebhookCreationIdempotencyKeys1764990200000 } from './1764990200000-webhook-creation-idempotency-keys';

/**
 * An existing database keeps answering retries of creations made before the upgrade: their
 * keys move from the subscriptions into webhook_idempotency_keys, and back down.
 */
describe('Migration WebhookCreationIdempotencyKeys1764990200000', () => {
  let db: TestDatabase;
  let subscriptions: WebhookSubscriptionsService;
  const migration = new WebhookCreationIdempotencyKeys1764990200000();
  const body = {
    url: 'http://127.0.0.1:9/hook',
    description: 'made before the upgrade',
    eventTypes: ['ping'],
    filters: {},
    leadTimes: [],
    format: 'standard' as const,
    enabled: true,
  };

  beforeAll(async () => {
    db = await createTestDatabase('webhook_creation_keys_migration');
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] }),
      new WebhookUrlGuard({ allowPrivateNetworks: true }),
      { secretGraceMs: 3_600_000 },
    );
  });
  afterAll(async () => {
    await db?.drop();
  });

  const migrate = (direction: 'up' | 'down') => db.migrate(migration, direction);

  /** A subscription as a creation with a key left it before the upgrade. */
  async function createdBeforeUpgrade(key: string, rotated: boolean) {
    const id = randomUUID();
    const secret = generateWebhookSecret();
    await db.pool.query(
      `INSERT INTO webhook_subscriptions
         (id, url, description, event_types, secret, previous_secret, previous_secret_expires_at,
          version, created_at, updated_at, idempotency_key, request_fingerprint)
       VALUES ($1, $2, $3, '{ping}', $4, $5, $6, $7, now(), now(), $8, 'fingerprint')`,
      [
        id,
        body.url,
        body.description,
        secret,
        rotated ? generateWebhookSecret() : null,
        rotated ? new Date(Date.now() + 3_600_000) : null,
        rotated ? 2 : 1,
        key,
      ],
    );
    return { id, secret };
  }

  it('keeps the keys of earlier creations answering their retries, and moves them back down', async () => {
    await migrate('down');
    const keptKey = `kept-${randomUUID()}`;
    const kept = await createdBeforeUpgrade(keptKey, false);
    const rotatedKey = `rotated-${randomUUID()}`;
    const rotated = await createdBeforeUpgrade(rotatedKey, true);
    const keyOf = async (id: string) =>
      (
        await db.pool.query<{ idempotency_key: string }>(
          'SELECT idempotency_key FROM webhook_subscriptions WHERE id = $1',
          [id],
        )
      ).rows[0].idempotency_key;

    await migrate('up');

    const retry = await subscriptions.create(body, { key: keptKey, fingerprint: 'fingerprint' });
    expect(retry).toMatchObject({ id: kept.id, secret: kept.secret, version: 1 });
    // A rotation had replaced that secret before the upgrade: still not shown.
    await expect(
      subscriptions.create(body, { key: rotatedKey, fingerprint: 'fingerprint' }),
    ).rejects.toMatchObject({ code: 'idempotency-key-superseded', currentVersion: 2 });
    // Still spent on their creations: another request, or a write, is refused.
    await expect(
      subscriptions.create(body, { key: keptKey, fingerprint: 'another' }),
    ).rejects.toMatchObject({ name: 'CommandIdReusedError' });
    await expect(
      subscriptions.rotateSecret(kept.id, undefined, { key: keptKey, fingerprint: 'fingerprint' }),
    ).rejects.toMatchObject({ name: 'CommandIdReusedError' });
    const { rows: total } = await db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM webhook_subscriptions',
    );
    expect(Number(total[0].n)).toBe(2);

    // And back: each creation's key is on its subscription again.
    await migrate('down');
    expect(await keyOf(kept.id)).toBe(keptKey);
    expect(await keyOf(rotated.id)).toBe(rotatedKey);
    const { rows: left } = await db.pool.query('SELECT * FROM webhook_idempotency_keys');
    expect(left).toEqual([]);
    await migrate('up');
  });
});
