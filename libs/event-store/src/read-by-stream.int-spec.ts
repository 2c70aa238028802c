import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { EventStore } from './event-store';

/**
 * The stream-ordered read a rebuild uses: every event up to a settled head, stream by stream.
 * The head is settled only once no transaction can still commit a number below it.
 */
describe('reading the log stream by stream', () => {
  let db: TestDatabase;
  let store: EventStore;
  const clients: Client[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('read_by_stream');
    store = new EventStore(db.pool);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await store.close();
    await db.drop();
  });

  it('gives every event up to the head once, each stream in version order, page by page', async () => {
    for (let round = 1; round <= 3; round += 1) {
      for (const stream of ['s-b', 's-a', 's-c']) {
        await store.append(stream, [{ type: `${stream}:${round}`, payload: {} }]);
      }
    }
    const upTo = await store.settledHead();
    await store.append('s-a', [{ type: 'after the head', payload: {} }]);

    const read: string[] = [];
    for (let after = null; ;) {
      const page = await store.readByStream(upTo, after, 2);
      if (!page.events.length) break;
      read.push(...page.events.map((event) => `${event.type} v${event.version}`));
      after = page.next;
    }
    expect(upTo).toBe(9);
    expect(read).toEqual([
      's-a:1 v1',
      's-a:2 v2',
      's-a:3 v3',
      's-b:1 v1',
      's-b:2 v2',
      's-b:3 v3',
      's-c:1 v1',
      's-c:2 v2',
      's-c:3 v3',
    ]);
  });

  it('settles the head only once an append holding a lower number has ended', async () => {
    await store.append('s-0', [{ type: 'first', payload: {} }]);
    const slow = new Client({ connectionString: db.url });
    await slow.connect();
    clients.push(slow);
    await slow.query('BEGIN');
    await slow.query('SELECT accord_append($1, NULL, NULL, $2)', [
      's-slow',
      JSON.stringify([
        { eventId: randomUUID(), type: 'slow', schemaVersion: 1, payload: {}, metadata: {} },
      ]),
    ]);
    await store.append('s-fast', [{ type: 'fast', payload: {} }]);

    let settled: number | undefined;
    const settling = store.settledHead(5).then((head) => (settled = head));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(settled).toBeUndefined();

    await slow.query('COMMIT');
    expect(await settling).toBe(3);
    const page = await store.readByStream(3, null, 10);
    expect(page.events.map((event) => event.type)).toEqual(['first', 'fast', 'slow']);
  });

  it('settles the head at once when the open transactions older than it hold no number', async () => {
    await store.append('s-0', [{ type: 'first', payload: {} }]);
    const unrelated = new Client({ connectionString: db.url });
    await unrelated.connect();
    clients.push(unrelated);
    await unrelated.query('BEGIN');
    await unrelated.query('SELECT pg_current_xact_id()');
    await store.append('s-1', [{ type: 'second', payload: {} }]);

    const started = Date.now();
    expect(await store.settledHead(5)).toBe(2);
    expect(Date.now() - started).toBeLessThan(1000);
    await unrelated.query('ROLLBACK');
  });
});
