import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { EventStore } from './event-store';
import { verifyHashChains } from './hash-chain-verifier';

/**
 * Transaction time within a stream follows its versions: what was known at any instant is a
 * prefix of the stream, so a `knownAt` read never folds an event onto a state that lacks the
 * one before it.
 */
describe('recording order within a stream', () => {
  let db: TestDatabase;
  let store: EventStore;
  let late: Client | undefined;

  beforeEach(async () => {
    db = await createTestDatabase('recording_order');
    store = new EventStore(db.pool);
  });
  afterEach(async () => {
    await late?.end().catch(() => undefined);
    await store.close();
    await db.drop();
  });

  it('never records a version before the one it follows, whenever its transaction began', async () => {
    await store.append('s-1', [{ type: 'first', payload: {} }]);
    // A transaction that began before another append committed, and appends after it.
    late = new Client({ connectionString: db.url });
    await late.connect();
    await late.query('BEGIN');
    await late.query('SELECT now()');
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.append('s-1', [{ type: 'second', payload: {} }]);
    await late.query('SELECT accord_append($1, NULL, NULL, $2)', [
      's-1',
      JSON.stringify([
        {
          eventId: crypto.randomUUID(),
          type: 'third',
          schemaVersion: 1,
          payload: {},
          metadata: {},
        },
      ]),
    ]);
    await late.query('COMMIT');

    const events = await store.readStream('s-1');
    expect(events.map((event) => [event.type, event.version])).toEqual([
      ['first', 1],
      ['second', 2],
      ['third', 3],
    ]);
    const at = events.map((event) => event.recordedAt.getTime());
    expect(at[2]).toBeGreaterThanOrEqual(at[1]);
    // As known at each event's instant, the stream is the prefix up to it: no hole.
    for (const event of events) {
      const known = await store.readStream('s-1', { recordedUntil: event.recordedAt });
      expect(known.map((e) => e.version)).toEqual(
        events.filter((e) => e.version <= known.length).map((e) => e.version),
      );
      expect(known.length).toBeGreaterThanOrEqual(event.version);
    }
    // The stamp the hash covers is the one stored.
    expect((await verifyHashChains(db.pool)).firstBroken).toBeNull();
  });
});
