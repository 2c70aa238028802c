import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { EventStore, EventStoreModule, type SubscriptionHandler } from '@app/event-store';
import { METRICS_REGISTRY, MetricsModule } from '@app/metrics';
import { allMigrations } from '@app/migrations';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import type { PoolClient } from 'pg';
import type { Registry } from 'prom-client';
import { SUBSCRIPTION_HANDLERS, SubscriptionHost } from './subscription-host';

/** Led by another replica: its lock is held by the test's own connection from the start. */
const elsewhere: SubscriptionHandler = { name: 'test:elsewhere', handle: () => Promise.resolve() };

/** A projection that cannot apply some event: it fails the same batch again and again. */
const stuck: SubscriptionHandler = {
  name: 'test:stuck',
  handle: () => Promise.reject(new Error('cannot apply this event')),
};
const healthy: SubscriptionHandler = { name: 'test:healthy', handle: () => Promise.resolve() };

describe('SubscriptionHost metrics', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let otherReplica: PoolClient;

  beforeAll(async () => {
    db = await createTestDatabase('subscription_host');
    otherReplica = await db.pool.connect();
    await otherReplica.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
      `accord-subscription:${elsewhere.name}`,
    ]);
    Object.assign(process.env, { DATABASE_URL: db.url, SUBSCRIPTION_POLL_MS: '50' });
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule,
        DatabaseModule.forRoot({ migrations: allMigrations, migrate: true, applicationName: 't' }),
        EventStoreModule,
        MetricsModule,
      ],
      providers: [
        { provide: SUBSCRIPTION_HANDLERS, useValue: [stuck, healthy, elsewhere] },
        SubscriptionHost,
      ],
    }).compile();
    moduleRef.useLogger(false);
    app = await moduleRef.init();
  });
  afterAll(async () => {
    await app?.close();
    otherReplica?.release(true);
    await db?.drop();
  });

  it('shows a subscription stuck on an event as failing, its position held, the others moving', async () => {
    const store = app.get(EventStore);
    const written = await store.append(`test-${randomUUID()}`, [
      { type: 'Something', payload: {} },
    ]);
    const position = written.positions[written.positions.length - 1];
    const registry = app.get<Registry>(METRICS_REGISTRY);
    const metric = async (name: string) =>
      (await registry.getSingleMetric(name)?.get())?.values ?? [];

    await eventually(async () => {
      expect(await metric('accord_subscription_failing')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ labels: { subscription: 'test:stuck' }, value: 1 }),
          expect.objectContaining({ labels: { subscription: 'test:healthy' }, value: 0 }),
        ]),
      );
      expect(await metric('accord_subscription_position')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ labels: { subscription: 'test:stuck' }, value: 0 }),
          expect.objectContaining({
            labels: { subscription: 'test:healthy' },
            value: position,
          }),
        ]),
      );
      // Standing by: no position of its own, and it says why.
      expect(await metric('accord_subscription_position')).not.toContainEqual(
        expect.objectContaining({ labels: { subscription: 'test:elsewhere' } }),
      );
      expect(await metric('accord_subscription_leading')).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ labels: { subscription: 'test:healthy' }, value: 1 }),
          expect.objectContaining({ labels: { subscription: 'test:elsewhere' }, value: 0 }),
        ]),
      );
    });
  });
});
