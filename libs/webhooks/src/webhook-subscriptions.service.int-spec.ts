import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { WebhookDispatcher } from './webhook-dispatcher';
import {
  InvalidWebhookCursorError,
  WebhookSubscriptionsService,
} from './webhook-subscriptions.service';
import { WebhookUrlGuard } from './webhook-url-guard';

/** The subscriptions service's lists on a real database: cursors handed out, and others. */
describe('WebhookSubscriptionsService lists', () => {
  let db: TestDatabase;
  let subscriptions: WebhookSubscriptionsService;
  let ids: string[];
  let tick = 0;

  const cursorOf = (at: string, id: string) =>
    Buffer.from(JSON.stringify([at, id])).toString('base64url');

  beforeAll(async () => {
    db = await createTestDatabase('webhook_subscriptions_service');
    subscriptions = new WebhookSubscriptionsService(
      db.pool,
      new WebhookDispatcher({ defaultLeadTimes: ['PT0S'] }),
      new WebhookUrlGuard({ allowPrivateNetworks: true }),
      // A millisecond apart, so that the list's order is the order of creation.
      { secretGraceMs: 3_600_000, clock: () => new Date(Date.UTC(2026, 0, 1) + (tick += 1)) },
    );
    ids = [];
    for (let i = 0; i < 3; i += 1) {
      const created = await subscriptions.create({
        url: `http://127.0.0.1:9/hook-${i}`,
        description: '',
        eventTypes: ['ping'],
        filters: {},
        leadTimes: [],
        format: 'standard',
        enabled: true,
      });
      ids.push(created.id);
    }
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('pages with the cursors it hands out; none or an empty one is the first page', async () => {
    const first = await subscriptions.list({ limit: 2 });
    expect(first.items.map((item) => item.id)).toEqual(ids.slice(0, 2));
    const second = await subscriptions.list({ limit: 2, cursor: first.nextCursor! });
    expect(second).toEqual({ items: [expect.objectContaining({ id: ids[2] })], nextCursor: null });
    expect((await subscriptions.list({ limit: 2, cursor: '' })).items).toEqual(first.items);
  });

  it.each([
    ['not base64url JSON', 'zzz'],
    ['the literal ""', '""'],
    ['JSON of another shape', Buffer.from('{"at":1}').toString('base64url')],
    ['an id that is no uuid', cursorOf('2026-01-01T00:00:00.000Z', 'x')],
    ['an instant out of range', cursorOf('+010000-01-01T00:00:00.000Z', randomUUID())],
    ['a number for an instant', Buffer.from(`[0,"${randomUUID()}"]`).toString('base64url')],
  ])('refuses a cursor it did not hand out (%s) on both lists', async (_what, cursor) => {
    await expect(subscriptions.list({ limit: 2, cursor })).rejects.toThrow(
      InvalidWebhookCursorError,
    );
    await expect(subscriptions.deliveries(ids[0], { limit: 2, cursor })).rejects.toMatchObject({
      name: 'InvalidWebhookCursorError',
      code: 'validation-failed',
      field: 'cursor',
      message: 'is not a cursor this list handed out',
      cursor,
    });
  });
});
