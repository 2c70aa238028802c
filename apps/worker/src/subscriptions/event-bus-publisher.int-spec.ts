import { randomUUID } from 'node:crypto';
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { EventsHandler, type IEventHandler } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { createTestDatabase, eventually, testRedisPrefix, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { WorkerModule } from '../worker.module';
import { CommittedEvent } from './committed-event';

@Injectable()
@EventsHandler(CommittedEvent)
class SeenEvents implements IEventHandler<CommittedEvent> {
  readonly types: string[] = [];
  handle({ event }: CommittedEvent): void {
    this.types.push(event.type);
  }
}

describe('@nestjs/cqrs event handlers in the worker', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;

  beforeAll(async () => {
    db = await createTestDatabase('worker_cqrs');
    process.env.DATABASE_URL = db.url;
    process.env.SUBSCRIPTION_POLL_MS = '100';
    // The worker's queues (alerts, webhooks) under a prefix of this run's own.
    process.env.REDIS_PREFIX = testRedisPrefix('cqrs');
    const moduleRef = await Test.createTestingModule({
      imports: [WorkerModule],
      providers: [SeenEvents],
    }).compile();
    app = await moduleRef.init();
  });
  afterAll(async () => {
    await app.close();
    await db.drop();
  });

  it('receive an event only once the transaction that appended it has committed', async () => {
    const seen = app.get(SeenEvents);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT accord_append($1, 0, NULL, $2)', [
        `cqrs-${randomUUID()}`,
        JSON.stringify([
          {
            eventId: randomUUID(),
            type: 'NotYetCommitted',
            schemaVersion: 1,
            payload: {},
            metadata: {},
          },
        ]),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seen.types).not.toContain('NotYetCommitted');

      await client.query('COMMIT');
      await eventually(() => expect(seen.types).toContain('NotYetCommitted'));
    } finally {
      await client.end();
    }
  });

  it('never receive an event whose transaction rolled back', async () => {
    const seen = app.get(SeenEvents);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT accord_append($1, 0, NULL, $2)', [
        `cqrs-${randomUUID()}`,
        JSON.stringify([
          {
            eventId: randomUUID(),
            type: 'RolledBack',
            schemaVersion: 1,
            payload: {},
            metadata: {},
          },
        ]),
      ]);
      await client.query('ROLLBACK');
      await client.query('SELECT accord_append($1, 0, NULL, $2)', [
        `cqrs-${randomUUID()}`,
        JSON.stringify([
          { eventId: randomUUID(), type: 'Committed', schemaVersion: 1, payload: {}, metadata: {} },
        ]),
      ]);
      await eventually(() => expect(seen.types).toContain('Committed'));
      expect(seen.types).not.toContain('RolledBack');
    } finally {
      await client.end();
    }
  });
});
