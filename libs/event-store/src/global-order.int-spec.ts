import { randomUUID } from 'node:crypto';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { EventStore } from './event-store';

/**
 * The global position is drawn from a sequence, so numbers are handed out in one order and
 * committed in another. These tests drive real transactions that commit out of order, roll back
 * or stay open, and check that a checkpointed reader never skips, never stalls for good, and that
 * every reader sees the same order.
 */
describe('the global log', () => {
  let db: TestDatabase;
  let store: EventStore;
  const clients: Client[] = [];

  beforeEach(async () => {
    db = await createTestDatabase('global_order');
    store = new EventStore(db.pool);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await store.close();
    await db.drop();
  });

  async function openTransaction(): Promise<Client> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    clients.push(client);
    await client.query('BEGIN');
    return client;
  }

  /** Appends inside an open transaction and returns the position it drew. */
  async function appendInside(client: Client, streamId: string, type: string): Promise<number> {
    const { rows } = await client.query<{ result: { positions: number[] } }>(
      'SELECT accord_append($1, NULL, NULL, $2) AS result',
      [
        streamId,
        JSON.stringify([
          { eventId: randomUUID(), type, schemaVersion: 1, payload: {}, metadata: {} },
        ]),
      ],
    );
    return rows[0].result.positions[0];
  }

  async function readEverything(
    after = 0,
    pageSize = 100,
  ): Promise<{ types: string[]; after: number }> {
    const types: string[] = [];
    for (;;) {
      const page = await store.readAll(after, pageSize);
      types.push(...page.events.map((e) => e.type));
      if (page.nextAfter === after) return { types, after };
      after = page.nextAfter;
    }
  }

  it('does not pass an event whose transaction commits after a later-numbered one', async () => {
    await store.append('s-0', [{ type: 'first', payload: {} }]);
    const slow = await openTransaction();
    const slowPosition = await appendInside(slow, 's-slow', 'slow');
    const fast = await store.append('s-fast', [{ type: 'fast', payload: {} }]);
    expect(fast.positions[0]).toBeGreaterThan(slowPosition);

    // The later number is committed and visible, yet the reader stops before the open one.
    const early = await readEverything();
    expect(early.types).toEqual(['first']);

    await slow.query('COMMIT');
    const rest = await readEverything(early.after);
    expect(rest.types).toEqual(['slow', 'fast']);
  });

  it('passes a rolled-back number as soon as its transaction has ended', async () => {
    await store.append('s-0', [{ type: 'first', payload: {} }]);
    const doomed = await openTransaction();
    await appendInside(doomed, 's-doomed', 'doomed');
    await store.append('s-1', [{ type: 'after-gap', payload: {} }]);
    expect((await readEverything()).types).toEqual(['first']);

    await doomed.query('ROLLBACK');
    // Transactions of other test files on this server may be older than the gap's witness;
    // the gap settles as soon as they end too (normally at once).
    await eventually(async () =>
      expect((await readEverything()).types).toEqual(['first', 'after-gap']),
    );
  });

  it('waits for a long-open transaction holding a number, then delivers it without loss', async () => {
    const longOpen = await openTransaction();
    await appendInside(longOpen, 's-long', 'long');
    for (let i = 0; i < 20; i += 1) await store.append(`s-${i}`, [{ type: `e${i}`, payload: {} }]);

    let checkpoint = 0;
    for (let poll = 0; poll < 5; poll += 1) {
      const page = await store.readAll(checkpoint, 7);
      checkpoint = page.nextAfter;
      expect(page.events).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await longOpen.query('COMMIT');
    const { types } = await readEverything(checkpoint, 7);
    expect(types).toEqual(['long', ...Array.from({ length: 20 }, (_, i) => `e${i}`)]);
  });

  it('is not held up by an open transaction that holds no number once gaps are settled', async () => {
    const unrelated = await openTransaction();
    await unrelated.query('SELECT pg_current_xact_id()');
    await store.append('s-a', [{ type: 'a', payload: {} }]);
    await store.append('s-b', [{ type: 'b', payload: {} }]);
    expect((await readEverything()).types).toEqual(['a', 'b']);
    await unrelated.query('ROLLBACK');
  });

  it('passes a rolled-back number at once, however old an unrelated open transaction is', async () => {
    // Older than the gap and holding a transaction id (it wrote something, elsewhere): an idle
    // session, a long batch job, a migration in another database. It cannot hold a position.
    const unrelated = await openTransaction();
    await unrelated.query('SELECT pg_current_xact_id()');
    const doomed = await openTransaction();
    await appendInside(doomed, 's-doomed', 'doomed');
    await store.append('s-1', [{ type: 'after-gap', payload: {} }]);
    await doomed.query('ROLLBACK');

    expect((await readEverything()).types).toEqual(['after-gap']);
    await unrelated.query('ROLLBACK');
  });

  it('gives every reader the same order, with nothing skipped or doubled, under concurrent commits and rollbacks', async () => {
    const committed = new Set<string>();
    const writers = Array.from({ length: 6 }, async (_, writer) => {
      const client = new Client({ connectionString: db.url });
      await client.connect();
      clients.push(client);
      for (let i = 0; i < 40; i += 1) {
        const type = `w${writer}-${i}`;
        await client.query('BEGIN');
        await appendInside(client, `stream-${writer}-${i % 3}`, type);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 4));
        if (i % 7 === 3) {
          await client.query('ROLLBACK');
        } else {
          await client.query('COMMIT');
          committed.add(type);
        }
      }
    });

    // Two readers follow the log while it is being written, with different page sizes.
    const followers = [3, 17].map(async (pageSize) => {
      const seen: string[] = [];
      let after = 0;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const page = await store.readAll(after, pageSize);
        seen.push(...page.events.map((e) => e.type));
        after = page.nextAfter;
        if (seen.length === 6 * 40 - 6 * 6) break;
        if (page.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      return seen;
    });

    await Promise.all(writers);
    const [first, second] = await Promise.all(followers);
    expect(committed.size).toBe(6 * 40 - 6 * 6);
    expect(new Set(first).size).toBe(first.length);
    expect(new Set(first)).toEqual(committed);
    expect(second).toEqual(first);
  });
});
