import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import { CommandIdReusedError, WrongExpectedVersionError } from './event-store.errors';
import { EventStore } from './event-store';
import type { NewEvent } from './event-store.types';
import { verifyHashChains } from './hash-chain-verifier';
import { UpcasterRegistry } from './upcaster-registry';

const event = (type = 'SomethingHappened', payload: Record<string, unknown> = {}): NewEvent => ({
  type,
  payload,
});
const stream = () => `test-${randomUUID()}`;

describe('EventStore on PostgreSQL', () => {
  let db: TestDatabase;
  let store: EventStore;

  beforeAll(async () => {
    db = await createTestDatabase('event_store');
    store = new EventStore(db.pool);
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  async function openClient(): Promise<Client> {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    return client;
  }

  async function countEvents(streamId?: string): Promise<number> {
    const { rows } = await db.pool.query<{ n: string }>(
      'SELECT count(*) AS n FROM events WHERE $1::text IS NULL OR stream_id = $1',
      [streamId ?? null],
    );
    return Number(rows[0].n);
  }

  describe('immutability', () => {
    it('refuses UPDATE, DELETE and TRUNCATE of stored events, even from the superuser owner', async () => {
      const id = stream();
      await store.append(id, [event('A', { n: 1 })]);
      const { rows } = await db.pool.query<{ super: boolean }>(
        'SELECT rolsuper AS super FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0].super).toBe(true);

      await expect(
        db.pool.query(`UPDATE events SET payload = '{"n":2}' WHERE stream_id = $1`, [id]),
      ).rejects.toMatchObject({ code: 'AC100' });
      await expect(
        db.pool.query('DELETE FROM events WHERE stream_id = $1', [id]),
      ).rejects.toMatchObject({ code: 'AC100' });
      await expect(db.pool.query('TRUNCATE events CASCADE')).rejects.toMatchObject({
        code: 'AC100',
      });
      const [stored] = await store.readStream(id);
      expect(stored.payload).toEqual({ n: 1 });
    });
  });

  describe('expected versions', () => {
    it('appends to a new stream with no-stream and then with the exact version', async () => {
      const id = stream();
      const first = await store.append(id, [event(), event()], { expectedVersion: 'no-stream' });
      expect(first).toMatchObject({ streamId: id, fromVersion: 1, toVersion: 2, duplicate: false });
      const second = await store.append(id, [event()], { expectedVersion: 2 });
      expect(second).toMatchObject({ fromVersion: 3, toVersion: 3 });
      expect(second.positions[0]).toBeGreaterThan(first.positions[1]);
      expect(await store.streamVersion(id)).toBe(3);
    });

    it('raises a typed conflict carrying the actual version', async () => {
      const id = stream();
      await store.append(id, [event(), event()]);
      const attempt = store.append(id, [event()], { expectedVersion: 1 });
      await expect(attempt).rejects.toBeInstanceOf(WrongExpectedVersionError);
      await expect(attempt).rejects.toMatchObject({ streamId: id, expected: 1, actual: 2 });
      await expect(
        store.append(id, [event()], { expectedVersion: 'no-stream' }),
      ).rejects.toMatchObject({ actual: 2 });
      expect(await countEvents(id)).toBe(2);
    });

    it('appends with "any" whatever the version', async () => {
      const id = stream();
      await store.append(id, [event()], { expectedVersion: 'any' });
      await store.append(id, [event()], { expectedVersion: 'any' });
      expect(await store.streamVersion(id)).toBe(2);
    });

    it('lets exactly one of eight racing appends win and tells the others the winner’s version', async () => {
      const id = stream();
      await store.append(id, [event()]);
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          store.append(id, [event('Raced', { i })], { expectedVersion: 1 }),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(7);
      for (const loss of lost) {
        expect(loss.reason).toBeInstanceOf(WrongExpectedVersionError);
        expect(loss.reason.actual).toBe(2);
      }
      expect(await countEvents(id)).toBe(2);
    });

    it('lets exactly one of several racing creators of a new stream win', async () => {
      const id = stream();
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          store.append(id, [event()], { expectedVersion: 'no-stream' }),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(await countEvents(id)).toBe(1);
    });

    it('writes a batch all or nothing', async () => {
      const id = stream();
      await store.append(id, [event()]);
      // The third event is malformed: the database refuses it after the first two were written.
      await expect(
        store.append(id, [event(), event(), { ...event(), eventId: 'not-a-uuid' }]),
      ).rejects.toMatchObject({ code: '22P02' });
      expect(await countEvents(id)).toBe(1);
      expect(await store.streamVersion(id)).toBe(1);
    });
  });

  describe('idempotency by command id', () => {
    it('returns the first result for a replayed command id and appends nothing', async () => {
      const id = stream();
      const commandId = randomUUID();
      const first = await store.append(id, [event('A'), event('B')], { commandId });
      const replay = await store.append(id, [event('A'), event('B')], { commandId });
      expect(replay).toEqual({ ...first, duplicate: true });
      expect(await countEvents(id)).toBe(2);
      const [stored] = await store.readStream(id);
      expect(stored.metadata.commandId).toBe(commandId);
    });

    it('appends once when the same command races itself', async () => {
      const id = stream();
      const commandId = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 6 }, () => store.append(id, [event()], { commandId })),
      );
      expect(new Set(results.map((r) => r.positions[0])).size).toBe(1);
      expect(results.filter((r) => !r.duplicate)).toHaveLength(1);
      expect(await countEvents(id)).toBe(1);
    });

    it('refuses a command id reused on another stream', async () => {
      const commandId = randomUUID();
      await store.append(stream(), [event()], { commandId });
      await expect(store.append(stream(), [event()], { commandId })).rejects.toBeInstanceOf(
        CommandIdReusedError,
      );
    });

    it('lets a command whose append failed be retried with the same id', async () => {
      const id = stream();
      const commandId = randomUUID();
      await store.append(id, [event()]);
      await expect(
        store.append(id, [event()], { commandId, expectedVersion: 0 }),
      ).rejects.toThrow();
      const retry = await store.append(id, [event()], { commandId, expectedVersion: 1 });
      expect(retry).toMatchObject({ duplicate: false, toVersion: 2 });
    });
  });

  describe('work in the append’s transaction', () => {
    beforeAll(async () => {
      await db.pool.query('CREATE TABLE claimed_codes (code text PRIMARY KEY, stream_id text)');
    });
    const claim = (code: string, streamId: string) => ({
      beforeCommit: async (tx: {
        query: (sql: string, params?: unknown[]) => Promise<unknown>;
      }) => {
        await tx.query('INSERT INTO claimed_codes VALUES ($1, $2)', [code, streamId]);
      },
    });

    it('commits the events and the extra write together', async () => {
      const id = stream();
      await store.append(id, [event()], claim(`code-${id}`, id));
      const { rowCount } = await db.pool.query('SELECT 1 FROM claimed_codes WHERE stream_id = $1', [
        id,
      ]);
      expect(rowCount).toBe(1);
      expect(await countEvents(id)).toBe(1);
    });

    it('appends nothing when the extra write fails', async () => {
      const taken = `code-${randomUUID()}`;
      await store.append(stream(), [event()], claim(taken, 'first'));
      const second = stream();
      await expect(store.append(second, [event()], claim(taken, second))).rejects.toMatchObject({
        code: '23505',
      });
      expect(await countEvents(second)).toBe(0);
      expect(await store.streamVersion(second)).toBe(0);
    });

    it('finds the first result of a command id, or null', async () => {
      const id = stream();
      const commandId = randomUUID();
      const first = await store.append(id, [event(), event()], { commandId });
      expect(await store.findCommand(commandId)).toEqual({ ...first, duplicate: true });
      expect(await store.findCommand(randomUUID())).toBeNull();
    });
  });

  describe('what is stored', () => {
    it('keeps recordedAt, type, schema version, payload, metadata and the chain link', async () => {
      const id = stream();
      const before = Date.now();
      const metadata = {
        actor: 'analyst@example.org',
        correlationId: randomUUID(),
        causationId: randomUUID(),
        sources: [{ issuer: 'USTR', title: 'Notice', official: true }],
      };
      await store.append(
        id,
        [event('MeasureAnnounced', { code: 'X' }), event('MeasureImplemented')],
        {
          metadata,
          commandId: randomUUID(),
        },
      );
      const events = await store.readStream(id);
      expect(events.map((e) => [e.version, e.type, e.schemaVersion])).toEqual([
        [1, 'MeasureAnnounced', 1],
        [2, 'MeasureImplemented', 1],
      ]);
      expect(events[0].payload).toEqual({ code: 'X' });
      expect(events[0].metadata).toMatchObject(metadata);
      expect(events[0].recordedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      const { rows } = await db.pool.query<{ version: string; prev_hash: Buffer; hash: Buffer }>(
        'SELECT version, prev_hash, hash FROM events WHERE stream_id = $1 ORDER BY version',
        [id],
      );
      expect(rows[0].prev_hash).toHaveLength(0);
      expect(rows[0].hash).toHaveLength(32);
      expect(rows[1].prev_hash.equals(rows[0].hash)).toBe(true);
    });

    it('reads a stream up to a version or up to a recorded instant', async () => {
      const id = stream();
      await store.append(id, [event('A'), event('B')]);
      await new Promise((resolve) => setTimeout(resolve, 20));
      const cut = new Date();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await store.append(id, [event('C')]);
      expect((await store.readStream(id, { toVersion: 1 })).map((e) => e.type)).toEqual(['A']);
      expect((await store.readStream(id, { recordedUntil: cut })).map((e) => e.type)).toEqual([
        'A',
        'B',
      ]);
      expect((await store.readStream(id)).map((e) => e.type)).toEqual(['A', 'B', 'C']);
    });

    it('reads part of a stream, and every event of some types along with it', async () => {
      const id = stream();
      await store.append(id, [event('A'), event('B'), event('C'), event('B'), event('D')]);
      const part = async (options: Parameters<EventStore['readStreamPart']>[1]) => {
        const { events, alongWith } = await store.readStreamPart(id, options);
        const names = (list: typeof events) => list.map((e) => `${e.type}${e.version}`);
        return { events: names(events), alongWith: names(alongWith) };
      };
      expect(await part({})).toEqual({ events: ['A1', 'B2', 'C3', 'B4', 'D5'], alongWith: [] });
      expect(await part({ after: 2, limit: 2 })).toEqual({ events: ['C3', 'B4'], alongWith: [] });
      expect(await part({ after: 3, limit: 1, alongWith: ['B', 'A'] })).toEqual({
        events: ['B4'],
        alongWith: ['A1', 'B2', 'B4'],
      });
      expect(await part({ after: 5, alongWith: ['C'] })).toEqual({ events: [], alongWith: ['C3'] });
      expect(await store.readStreamPart(stream())).toEqual({ events: [], alongWith: [] });
    });

    it('upcasts an old schema version on read through the registered functions', async () => {
      const upcasters = new UpcasterRegistry()
        .register('RateSet', 1, (p) => ({ rate: { type: 'ad-valorem', percent: p.percent } }))
        .register('RateSet', 2, (p) => ({ ...p, unit: 'percent-points' }));
      const reader = new EventStore(db.pool, upcasters);
      const id = stream();
      await store.append(id, [{ type: 'RateSet', schemaVersion: 1, payload: { percent: 34 } }]);
      await store.append(id, [
        {
          type: 'RateSet',
          schemaVersion: 3,
          payload: { rate: { type: 'ad-valorem', percent: 10 }, unit: 'x' },
        },
      ]);
      const [old, current] = await reader.readStream(id);
      expect(old).toMatchObject({
        schemaVersion: 3,
        payload: { rate: { type: 'ad-valorem', percent: 34 }, unit: 'percent-points' },
      });
      expect(current).toMatchObject({ schemaVersion: 3, payload: { unit: 'x' } });
      const { rows } = await db.pool.query(
        'SELECT schema_version, payload FROM events WHERE stream_id = $1 AND version = 1',
        [id],
      );
      expect(rows[0]).toEqual({ schema_version: 1, payload: { percent: 34 } });
    });
  });

  describe('hash chains', () => {
    it('finds no broken link in an untouched log, then the first tampered one', async () => {
      const id = stream();
      await store.append(id, [event('A', { rate: 10 }), event('B', { rate: 20 }), event('C')]);
      expect((await verifyHashChains(db.pool)).firstBroken).toBeNull();

      const client = await openClient();
      try {
        await client.query('BEGIN');
        await client.query('ALTER TABLE events DISABLE TRIGGER events_immutable');
        await client.query(
          `UPDATE events SET payload = '{"rate": 25}' WHERE stream_id = $1 AND version = 2`,
          [id],
        );
        await client.query('ALTER TABLE events ENABLE TRIGGER events_immutable');
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      const report = await verifyHashChains(db.pool);
      expect(report.firstBroken).toMatchObject({
        streamId: id,
        version: 2,
        reason: 'hash-mismatch',
      });
    });
  });
});
