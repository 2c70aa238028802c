import {
  measureStatusAt,
  replayMeasure,
  type Measure,
  type MeasureEvent,
  type Suspension,
} from '@app/domain';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { DateTime } from 'luxon';
import { runEntry, type ProcessResult } from './support/run-process';
import { eventCount } from './support/write-api';

const CLI = 'apps/cli/src/main.ts';
const CLI_TIMEOUT_MS = 240_000;
/** `Imported us-china-2025: 117 of 117 operations added (412 events), 0 already present, in 3.1 s.` */
const REPORT =
  /^Imported us-china-2025: (\d+) of (\d+) operations added \((\d+) events\), (\d+) already present/m;

/** Stored events as the domain folds them: `data` is the payload. */
function toDomainEvents(stored: RecordedEvent[]): MeasureEvent[] {
  return stored.map(
    (event) =>
      ({
        type: event.type,
        data: event.payload,
        metadata: { eventId: event.eventId, actor: String(event.metadata.actor) },
      }) as unknown as MeasureEvent,
  );
}

describe('the bundled 2025 US–China dataset, end to end', () => {
  let db: TestDatabase;
  let store: EventStore;
  let firstRun: ProcessResult;
  let secondRun: ProcessResult;
  let countAfterFirst: number;
  let countAfterSecond: number;

  const cli = (args: string[]) =>
    runEntry(CLI, args, { DATABASE_URL: db.url, LOG_LEVEL: 'error' }, CLI_TIMEOUT_MS);

  async function measureIdOf(code: string): Promise<string> {
    const { rows } = await db.pool.query<{ aggregate_id: string }>(
      "SELECT aggregate_id FROM stream_codes WHERE kind = 'measure' AND normalized_code = $1",
      [code],
    );
    expect(rows).toHaveLength(1);
    return rows[0].aggregate_id;
  }

  async function loadMeasure(code: string) {
    const id = await measureIdOf(code);
    const stored = await store.readStream(`measure-${id}`);
    const measure = replayMeasure(toDomainEvents(stored));
    if (!measure) throw new Error(`${code} does not replay to a measure`);
    return { id, stored, measure };
  }

  function onlySuspension(measure: Measure, predicate: (s: Suspension) => boolean): Suspension {
    const found = measure.suspensions.filter(predicate);
    expect(found).toHaveLength(1);
    return found[0];
  }

  beforeAll(
    async () => {
      db = await createTestDatabase('e2e_dataset');
      store = new EventStore(db.pool);
      expect(await eventCount(db.pool)).toBe(0);
      firstRun = await cli(['seed']);
      countAfterFirst = await eventCount(db.pool);
      secondRun = await cli(['seed']);
      countAfterSecond = await eventCount(db.pool);
    },
    2 * CLI_TIMEOUT_MS + 30_000,
  );
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });

  describe('npm run cli -- seed, twice on a fresh database', () => {
    it('the first run adds every operation and reports the events it wrote', () => {
      expect({ code: firstRun.code, stderr: firstRun.stderr }).toEqual({
        code: 0,
        stderr: expect.any(String),
      });
      const report = REPORT.exec(firstRun.stdout);
      expect(report).not.toBeNull();
      const [, added, total, events, present] = report!.map(Number);
      expect(total).toBeGreaterThan(100);
      expect(added).toBe(total);
      expect(present).toBe(0);
      expect(events).toBe(countAfterFirst);
      expect(countAfterFirst).toBeGreaterThan(total);
    });

    it('the second run adds nothing: 0 of N operations, the event count unchanged', () => {
      expect(secondRun.code).toBe(0);
      const first = REPORT.exec(firstRun.stdout)!;
      const report = REPORT.exec(secondRun.stdout);
      expect(report).not.toBeNull();
      expect(secondRun.stdout).toContain(`0 of ${first[2]} operations added (0 events)`);
      expect(Number(report![4])).toBe(Number(first[2]));
      expect(countAfterSecond).toBe(countAfterFirst);
    });

    it('leaves exactly one copy: one stream per code, no event id or command twice', async () => {
      const { rows: codes } = await db.pool.query<{ kind: string; streams: string }>(
        `SELECT c.kind, count(DISTINCT e.stream_id) AS streams
           FROM stream_codes c
           JOIN events e ON e.stream_id = c.kind || '-' || c.aggregate_id
          GROUP BY c.kind ORDER BY c.kind`,
      );
      const { rows: streams } = await db.pool.query<{ prefix: string; count: string }>(
        `SELECT split_part(stream_id, '-', 1) AS prefix, count(DISTINCT stream_id) AS count
           FROM events GROUP BY 1 ORDER BY 1`,
      );
      const perKind = Object.fromEntries(streams.map((row) => [row.prefix, Number(row.count)]));
      for (const row of codes) expect(Number(row.streams)).toBe(perKind[row.kind]);
      expect(perKind.measure).toBeGreaterThan(20);
      expect(perKind.agreement).toBe(3);

      const { rows: duplicates } = await db.pool.query(
        `SELECT stream_id, type, payload FROM events
          GROUP BY stream_id, type, payload HAVING count(*) > 1`,
      );
      expect(duplicates).toEqual([]);
    });

    it('records every event with the importer as actor and with its sources', async () => {
      const { rows } = await db.pool.query<{ missing: string; actors: string[] }>(
        `SELECT count(*) FILTER (
                  WHERE jsonb_array_length(COALESCE(metadata -> 'sources', '[]'::jsonb)) = 0
                ) AS missing,
                array_agg(DISTINCT metadata ->> 'actor') AS actors
           FROM events`,
      );
      expect(Number(rows[0].missing)).toBe(0);
      expect(rows[0].actors).toEqual(['import']);
    });

    it('npm run cli -- verify finds every hash chain intact', async () => {
      const verified = await cli(['verify']);
      expect({ code: verified.code, stderr: verified.stderr }).toEqual({ code: 0, stderr: '' });
      expect(verified.stdout).toMatch(
        new RegExp(`All hash chains hold: ${countAfterSecond} events in \\d+ streams`),
      );
    });
  });

  describe('the timeline, folded by the domain', () => {
    it('US-RECIPROCAL-CN on 2026-06-01: 34%, 24 points suspended since 2025-05-14, 10% in force, until 2026-11-10 00:01 New York time', async () => {
      const { stored, measure } = await loadMeasure('US-RECIPROCAL-CN');
      expect(measure).toMatchObject({
        code: 'US-RECIPROCAL-CN',
        imposingParty: 'US',
        targetParties: ['CN'],
        timeZone: 'America/New_York',
      });

      const status = measureStatusAt(measure, '2026-06-01T12:00:00Z');
      expect(status).toMatchObject({
        status: 'partially-suspended',
        fullRate: { type: 'ad-valorem', percent: 34 },
        suspendedPart: { percentPoints: 24 },
        rateInForce: { type: 'ad-valorem', percent: 10 },
      });
      const active = status!.activeSuspension!;
      expect(active.part).toEqual({ percentPoints: 24 });
      expect(DateTime.fromISO(active.startsAt, { zone: 'America/New_York' }).toISODate()).toBe(
        '2025-05-14',
      );
      expect(new Date(active.endsAt!).toISOString()).toBe('2026-11-10T05:01:00.000Z');
      expect(
        DateTime.fromISO(active.endsAt!, { zone: 'America/New_York' }).toFormat('yyyy-MM-dd HH:mm'),
      ).toBe('2026-11-10 00:01');

      const extensions = stored.filter(
        (event) => event.type === 'SuspensionExtended' && event.payload.suspensionId === active.id,
      );
      expect(extensions).toHaveLength(2);
      expect(extensions.map((event) => event.payload.endsAt)).toEqual([
        '2025-11-10T05:01:00.000Z',
        '2026-11-10T05:01:00.000Z',
      ]);
      for (const event of extensions) {
        expect((event.metadata.sources as unknown[]).length).toBeGreaterThan(0);
      }
    });

    it('US-RECIPROCAL-CN on 2026-12-01: no longer suspended, the full 34% in force', async () => {
      const { measure } = await loadMeasure('US-RECIPROCAL-CN');
      const status = measureStatusAt(measure, '2026-12-01T12:00:00Z');
      expect(status).toMatchObject({
        status: 'in-force',
        activeSuspension: null,
        activeSuspensions: [],
        suspendedPart: null,
        rateInForce: { type: 'ad-valorem', percent: 34 },
      });
    });

    it('CN-MOT-2025-54 answers the US maritime measure; its suspension starts when the US one does', async () => {
      const cn = await loadMeasure('CN-MOT-2025-54');
      const us = await loadMeasure('US-301-SHIP-FEE-CN-OPERATED');
      expect(cn.measure.respondsTo).toContain(us.id);

      const conditional = onlySuspension(
        cn.measure,
        (s) => s.startsWhen !== undefined && s.startsWhen.measure === us.id,
      );
      const trigger = onlySuspension(
        us.measure,
        (s) => s.id === conditional.startsWhen!.suspension,
      );
      expect(trigger.startsAt).toBeDefined();
      expect(conditional.state).toBe('active');
      expect(conditional.startsAt).toBe(trigger.startsAt);
      expect(trigger.startsAt).toBe('2025-11-10T05:01:00.000Z');
      // One year, counted in Beijing time from the same instant.
      expect(conditional.endsAt).toBe('2026-11-10T05:01:00.000Z');

      const scheduled = cn.stored.find(
        (event) =>
          event.type === 'SuspensionScheduled' && event.payload.suspensionId === conditional.id,
      );
      expect(scheduled?.payload).toMatchObject({
        startsWhen: { measure: us.id, suspension: trigger.id },
        duration: 'P1Y',
      });
      expect(scheduled?.payload).not.toHaveProperty('startsAt');

      const status = measureStatusAt(cn.measure, '2026-06-01T12:00:00Z');
      expect(status).toMatchObject({ status: 'suspended' });
      expect(status?.activeSuspension?.id).toBe(conditional.id);
    });
  });
});
