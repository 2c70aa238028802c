import { randomUUID } from 'node:crypto';
import { DomainError } from '@app/domain';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import {
  EDITOR,
  cnCountermeasure,
  rejectionOf,
  startTradeTestApp,
  uniqueCode,
  usTariff,
  whiteHouse,
  type TradeTestApp,
} from '../testing/trade-test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('ExecuteMeasureAction on PostgreSQL', () => {
  let db: TestDatabase;
  let t: TradeTestApp;

  beforeAll(async () => {
    db = await createTestDatabase('trade_measures');
    process.env.DATABASE_URL = db.url;
    t = await startTradeTestApp(db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const amendRate = (percent: number) => ({
    action: 'amend-measure' as const,
    body: {
      rate: { type: 'ad-valorem' as const, percent },
      effectiveAt: '2025-04-10T04:01:00Z',
      sources: [whiteHouse],
    },
  });

  async function recordUs(code = uniqueCode('US-RECIPROCAL')) {
    const result = await t.measure(null, { action: 'record-measure', body: usTariff({ code }) });
    return { id: result.id, code, result };
  }

  describe('recording a measure', () => {
    it('stores its events with the acting key and the sources in their metadata', async () => {
      const code = uniqueCode('US-RECIPROCAL');

      const result = await t.measure(
        null,
        { action: 'record-measure', body: usTariff({ code }) },
        { actor: 'editor-alice' },
      );

      expect(result).toEqual({
        id: expect.stringMatching(UUID),
        version: 2,
        position: expect.any(Number),
        eventIds: [expect.stringMatching(UUID), expect.stringMatching(UUID)],
        replayed: false,
      });
      const events = await t.measureEvents(result.id);
      expect(events.map((e) => [e.type, e.version])).toEqual([
        ['MeasureAnnounced', 1],
        ['MeasureImplemented', 2],
      ]);
      expect(events.map((e) => e.eventId)).toEqual(result.eventIds);
      expect(events[1].position).toBe(result.position);
      for (const event of events) {
        expect(event.metadata).toMatchObject({ actor: 'editor-alice', sources: [whiteHouse] });
        expect(event.payload.sources).toEqual([whiteHouse]);
      }
      expect(events[0].payload).toMatchObject({
        measureId: result.id,
        effectiveAt: '2025-04-02T20:00:00.000Z',
        measure: {
          code,
          imposingParty: 'US',
          targetParties: ['CN'],
          rate: { type: 'ad-valorem', percent: 34 },
          timeZone: 'America/New_York',
        },
      });
      expect(events[1].payload).toMatchObject({ effectiveAt: '2025-04-09T04:01:00.000Z' });
    });

    it('claims its code, which then resolves to its id whatever the case', async () => {
      const { id, code } = await recordUs(uniqueCode('us-Reciprocal'));

      expect(await t.codeRows(id)).toEqual([
        { kind: 'measure', normalized_code: code.toUpperCase(), code, aggregate_id: id },
      ]);
      expect(await t.codes.resolve('measure', code.toLowerCase())).toBe(id);
      expect(await t.codes.resolve('measure', code.toUpperCase())).toBe(id);
      const amended = await t.measure(code.toLowerCase(), amendRate(20));
      expect(amended).toMatchObject({ id, version: 3 });
    });

    it('refuses a second measure with a taken code (any case) and appends nothing for it', async () => {
      const first = await recordUs();
      const secondId = randomUUID();

      const error = await rejectionOf(
        t.measure(null, {
          action: 'record-measure',
          measureId: secondId,
          body: usTariff({ code: first.code.toLowerCase(), title: 'Another tariff' }),
        }),
      );

      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'measure-code-taken' });
      expect(await t.measureEvents(secondId)).toEqual([]);
      expect(await t.codeRows(secondId)).toEqual([]);
      expect(await t.codes.resolve('measure', first.code)).toBe(first.id);
    });

    it('lets exactly one of two measures racing for the same code have it', async () => {
      const code = uniqueCode('US-RACE');
      const ids = [randomUUID(), randomUUID()];

      const outcomes = await Promise.allSettled(
        ids.map((measureId) =>
          t.measure(null, { action: 'record-measure', measureId, body: usTariff({ code }) }),
        ),
      );

      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [ids[i]] : []));
      const lost = outcomes.flatMap((o, i) => (o.status === 'rejected' ? [ids[i]] : []));
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const refusal = outcomes.find((o) => o.status === 'rejected');
      expect(refusal).toMatchObject({ reason: { code: 'measure-code-taken' } });
      expect(await t.measureEvents(lost[0])).toEqual([]);
      expect(await t.codes.resolve('measure', code)).toBe(won[0]);
    });

    it('links a countermeasure to the measure it answers, named by code', async () => {
      const us = await recordUs();

      const cn = await t.measure(null, {
        action: 'record-measure',
        body: cnCountermeasure({
          code: uniqueCode('CN-ANN-4'),
          respondsTo: [us.code.toLowerCase()],
        }),
      });

      const events = await t.measureEvents(cn.id);
      expect(events.map((e) => e.type)).toEqual(['MeasureImplemented', 'CountermeasureLinked']);
      expect(events[1].payload).toMatchObject({
        respondsTo: us.id,
        effectiveAt: '2025-04-10T04:01:00.000Z',
      });
      expect(cn.version).toBe(2);
    });

    it('refuses a countermeasure whose imposing party the answered measure does not target', async () => {
      const onCanada = await t.measure(null, {
        action: 'record-measure',
        body: usTariff({ code: uniqueCode('US-ON-CA'), targetParties: ['CA'] }),
      });
      const cnId = randomUUID();
      const cnCode = uniqueCode('CN-MISMATCH');

      const error = await rejectionOf(
        t.measure(null, {
          action: 'record-measure',
          measureId: cnId,
          body: cnCountermeasure({ code: cnCode, respondsTo: [onCanada.id] }),
        }),
      );

      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'countermeasure-party-mismatch' });
      expect(await t.measureEvents(cnId)).toEqual([]);
      // The decision failed before the append: its code is still free.
      expect(await t.codes.resolve('measure', cnCode)).toBeNull();
    });

    it('refuses a countermeasure that answers an unknown measure', async () => {
      const cnId = randomUUID();
      const error = await rejectionOf(
        t.measure(null, {
          action: 'record-measure',
          measureId: cnId,
          body: cnCountermeasure({ respondsTo: [uniqueCode('NO-SUCH')] }),
        }),
      );
      expect(error).toMatchObject({ code: 'measure-not-found' });
      expect(await t.measureEvents(cnId)).toEqual([]);
    });
  });

  describe('later actions name the measure by UUID or code', () => {
    it('amends by UUID and by code', async () => {
      const { id, code } = await recordUs();

      const byId = await t.measure(id, amendRate(20));
      const byCode = await t.measure(code, amendRate(10));

      expect(byId).toMatchObject({ id, version: 3, replayed: false });
      expect(byCode).toMatchObject({ id, version: 4, replayed: false });
      const events = await t.measureEvents(id);
      expect(events.slice(2).map((e) => [e.type, e.payload.rate])).toEqual([
        ['MeasureRateAmended', { type: 'ad-valorem', percent: 20 }],
        ['MeasureRateAmended', { type: 'ad-valorem', percent: 10 }],
      ]);
    });

    it('schedules a one-year suspension that ends at the same New York wall-clock time', async () => {
      const { id, code } = await recordUs();

      const result = await t.measure(code, {
        action: 'schedule-suspension',
        body: {
          startsAt: '2025-11-10T05:01:00Z',
          duration: 'P1Y',
          part: { percentPoints: 24 },
          sources: [whiteHouse],
        },
      });

      expect(result).toMatchObject({ id, version: 4, suspensionId: expect.any(String) });
      expect(result.eventIds).toHaveLength(2);
      const [scheduled, started] = (await t.measureEvents(id)).slice(2);
      expect(scheduled).toMatchObject({
        type: 'SuspensionScheduled',
        payload: {
          suspensionId: result.suspensionId,
          startsAt: '2025-11-10T05:01:00.000Z',
          duration: 'P1Y',
          endsAt: '2026-11-10T05:01:00.000Z',
          part: { percentPoints: 24 },
        },
      });
      expect(started).toMatchObject({
        type: 'SuspensionStarted',
        payload: {
          suspensionId: result.suspensionId,
          startsAt: '2025-11-10T05:01:00.000Z',
          endsAt: '2026-11-10T05:01:00.000Z',
        },
        metadata: { actor: EDITOR },
      });
    });

    it('keeps the wall-clock time across a daylight saving change (00:01 EST → 00:01 EDT)', async () => {
      const { id } = await recordUs();

      const result = await t.measure(id, {
        action: 'schedule-suspension',
        body: { startsAt: '2025-11-10T05:01:00Z', duration: 'P6M', sources: [whiteHouse] },
      });

      const started = (await t.measureEvents(id)).find((e) => e.type === 'SuspensionStarted');
      expect(started?.payload).toMatchObject({
        suspensionId: result.suspensionId,
        endsAt: '2026-05-10T04:01:00.000Z',
      });
    });

    it('extends a suspension named by the measure code and the returned suspension id', async () => {
      const { id, code } = await recordUs();
      const { suspensionId } = await t.measure(code, {
        action: 'schedule-suspension',
        body: { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D', sources: [whiteHouse] },
      });

      const result = await t.measure(code, {
        action: 'extend-suspension',
        suspensionId: suspensionId as string,
        body: { duration: 'P90D', effectiveAt: '2025-08-11T16:00:00Z', sources: [whiteHouse] },
      });

      expect(result).toMatchObject({ id, version: 5 });
      const extended = (await t.measureEvents(id)).at(-1);
      expect(extended).toMatchObject({
        type: 'SuspensionExtended',
        payload: {
          suspensionId,
          previousEndsAt: '2025-08-12T04:01:00.000Z',
          endsAt: '2025-11-10T05:01:00.000Z',
        },
      });
    });

    it.each([
      ['an unknown code', () => uniqueCode('NO-SUCH-MEASURE')],
      ['an unknown UUID', () => randomUUID()],
    ])('answers measure-not-found for %s and appends nothing', async (_, unknown) => {
      const name = unknown();
      const before = await t.store.headPosition();

      for (const action of [
        amendRate(20),
        {
          action: 'schedule-suspension' as const,
          body: { startsAt: '2025-11-10T05:01:00Z', duration: 'P1Y', sources: [whiteHouse] },
        },
      ]) {
        const error = await rejectionOf(t.measure(name, action));
        expect(error).toBeInstanceOf(DomainError);
        expect(error).toMatchObject({ code: 'measure-not-found' });
      }
      expect(await t.store.headPosition()).toBe(before);
    });

    it('answers measure-not-found when a suspension waits for an unknown measure', async () => {
      const { id } = await recordUs();
      const error = await rejectionOf(
        t.measure(id, {
          action: 'schedule-suspension',
          body: {
            startsWhen: { measure: uniqueCode('NO-SUCH'), suspension: 's-1' },
            duration: 'P1Y',
            sources: [whiteHouse],
          },
        }),
      );
      expect(error).toMatchObject({ code: 'measure-not-found' });
      expect(await t.measureEvents(id)).toHaveLength(2);
    });
  });

  describe('idempotency (commandId)', () => {
    it('returns the first result, marked replayed, and stores one copy of the events', async () => {
      const { id } = await recordUs();
      const commandId = `test:${randomUUID()}`;

      const first = await t.measure(id, amendRate(20), { commandId });
      const second = await t.measure(id, amendRate(20), { commandId });

      expect(first.replayed).toBe(false);
      expect(second).toEqual({ ...first, replayed: true });
      const events = await t.measureEvents(id);
      expect(events.filter((e) => e.type === 'MeasureRateAmended')).toHaveLength(1);
      expect(events.at(-1)?.metadata.commandId).toBe(commandId);
    });

    it('replays a suspension with the suspension id it was first given', async () => {
      const { id } = await recordUs();
      const commandId = `test:${randomUUID()}`;
      const action = {
        action: 'schedule-suspension' as const,
        body: { startsAt: '2025-11-10T05:01:00Z', duration: 'P1Y', sources: [whiteHouse] },
      };

      const first = await t.measure(id, action, { commandId });
      const second = await t.measure(id, action, { commandId });

      expect(second).toEqual({ ...first, replayed: true });
      expect(second.suspensionId).toEqual(expect.any(String));
      const scheduled = (await t.measureEvents(id)).filter((e) => e.type === 'SuspensionScheduled');
      expect(scheduled).toHaveLength(1);
    });

    it('returns a retried record-measure (same measure id) instead of measure-already-exists', async () => {
      const measureId = randomUUID();
      const code = uniqueCode('US-RETRY');
      const commandId = `test:${randomUUID()}`;
      const action = { action: 'record-measure' as const, measureId, body: usTariff({ code }) };

      const first = await t.measure(null, action, { commandId });
      const second = await t.measure(null, action, { commandId });

      expect(second).toEqual({ ...first, replayed: true });
      expect(await t.measureEvents(measureId)).toHaveLength(2);
      expect(await t.codeRows(measureId)).toHaveLength(1);
    });

    // Two imports of one file at once: the second checked the command id before the first
    // committed, then loaded the stream after it, and its decide refused what the first did.
    it('returns the first result when the same command committed while this one was deciding', async () => {
      const measureId = randomUUID();
      const code = uniqueCode('US-RACE');
      const commandId = `test:${randomUUID()}`;
      const action = { action: 'record-measure' as const, measureId, body: usTariff({ code }) };
      const first = await t.measure(null, action, { commandId });

      // As the second saw the log when it looked: the first not committed yet.
      const findCommand = jest.spyOn(t.store, 'findCommand').mockResolvedValueOnce(null);
      try {
        const second = await t.measure(null, action, { commandId });
        expect(second).toEqual({ ...first, replayed: true });
      } finally {
        findCommand.mockRestore();
      }
      expect(await t.measureEvents(measureId)).toHaveLength(2);
    });

    // POST /api/v1/measures with an Idempotency-Key sends no measure id: the handler makes up a
    // new one on each try, so the retry must still be found by its command id alone.
    it('returns a retried record-measure whose id the server generated', async () => {
      const code = uniqueCode('US-RETRY-NOID');
      const commandId = `test:${randomUUID()}`;
      const action = { action: 'record-measure' as const, body: usTariff({ code }) };

      const first = await t.measure(null, action, { commandId });
      const second = await t.measure(null, action, { commandId });

      expect(second).toEqual({ ...first, replayed: true });
      expect(await t.measureEvents(first.id)).toHaveLength(2);
      expect(await t.codes.resolve('measure', code)).toBe(first.id);
    });

    it('gives two concurrent tries of a record-measure (server-generated id) the same result', async () => {
      const code = uniqueCode('US-RETRY-RACE');
      const commandId = `test:${randomUUID()}`;
      const action = { action: 'record-measure' as const, body: usTariff({ code }) };

      const results = await Promise.all([
        t.measure(null, action, { commandId }),
        t.measure(null, action, { commandId }),
      ]);

      const first = results.find((r) => !r.replayed);
      const replay = results.find((r) => r.replayed);
      expect(replay).toEqual({ ...first, replayed: true });
      expect(await t.codes.resolve('measure', code)).toBe(first?.id);
    });

    it('refuses a command id already used on another measure (a client bug, not a retry)', async () => {
      const a = await recordUs();
      const b = await recordUs();
      const commandId = `test:${randomUUID()}`;
      await t.measure(a.id, amendRate(20), { commandId });

      const error = await rejectionOf(t.measure(b.id, amendRate(20), { commandId }));

      expect(error).toBeInstanceOf(CommandIdReusedError);
      expect(await t.measureEvents(b.id)).toHaveLength(2);
    });
  });

  describe('expected version (If-Match)', () => {
    it('refuses a stale expected version with the actual one and appends nothing', async () => {
      const { id } = await recordUs();
      await t.measure(id, amendRate(20));

      const error = await rejectionOf(t.measure(id, amendRate(10), { expectedVersion: 2 }));

      expect(error).toBeInstanceOf(WrongExpectedVersionError);
      expect(error).toMatchObject({ expected: 2, actual: 3, streamId: `measure-${id}` });
      expect(await t.measureEvents(id)).toHaveLength(3);
    });

    it('writes when the expected version is current', async () => {
      const { id } = await recordUs();
      const result = await t.measure(id, amendRate(20), { expectedVersion: 2 });
      expect(result).toMatchObject({ id, version: 3 });
    });

    it('retries a concurrent write transparently when no version was expected', async () => {
      const { id } = await recordUs();

      const results = await Promise.all([
        t.measure(id, amendRate(20)),
        t.measure(id, amendRate(10)),
      ]);

      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual([3, 4]);
      const events = await t.measureEvents(id);
      expect(events.map((e) => e.version)).toEqual([1, 2, 3, 4]);
      expect(events.slice(2).map((e) => e.eventId)).toEqual(
        [...results].sort((a, b) => a.version - b.version).flatMap((r) => r.eventIds),
      );
    });

    it('lets only one of two writes expecting the same version through', async () => {
      const { id } = await recordUs();

      const outcomes = await Promise.allSettled([
        t.measure(id, amendRate(20), { expectedVersion: 2 }),
        t.measure(id, amendRate(10), { expectedVersion: 2 }),
      ]);

      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
      const refused = outcomes.find((o) => o.status === 'rejected');
      expect(refused?.reason).toBeInstanceOf(WrongExpectedVersionError);
      expect(refused?.reason).toMatchObject({ expected: 2, actual: 3 });
      expect(await t.measureEvents(id)).toHaveLength(3);
    });
  });

  // A revocation announced ahead of its date: the measure stays open to what happens before it.
  describe('revoked from a date still to come', () => {
    const now = new Date('2026-11-30T12:00:00Z');
    const REVOKED_AT = '2027-06-01T00:00:00.000Z';
    const sources = [whiteHouse];

    async function recordRevoked() {
      const code = uniqueCode('REVOKED-AHEAD');
      const { id } = await t.measure(null, { action: 'record-measure', body: usTariff({ code }) });
      const revoked = await t.measure(
        code,
        { action: 'revoke-measure', body: { effectiveAt: REVOKED_AT, sources } },
        { now },
      );
      return { id, code, revocationId: revoked.eventIds[0] };
    }

    const amend = (effectiveAt: string) => ({
      action: 'amend-measure' as const,
      body: { rate: { type: 'ad-valorem' as const, percent: 25 }, effectiveAt, sources },
    });

    it('takes an amendment and a suspension dated before the revocation', async () => {
      const { id, code } = await recordRevoked();

      await t.measure(code, amend('2026-03-01T00:00:00Z'), { now });
      const { suspensionId } = await t.measure(
        code,
        {
          action: 'schedule-suspension',
          body: {
            startsAt: '2026-12-15T00:00:00Z',
            endsAt: '2027-01-15T00:00:00Z',
            sources,
          },
        },
        { now },
      );
      await t.measure(
        code,
        {
          action: 'extend-suspension',
          suspensionId: suspensionId as string,
          body: { endsAt: '2027-03-01T00:00:00Z', sources },
        },
        { now },
      );

      expect((await t.measureEvents(id)).slice(3).map((e) => e.type)).toEqual([
        'MeasureRateAmended',
        'SuspensionScheduled',
        'SuspensionStarted',
        'SuspensionExtended',
      ]);
    });

    it('refuses what takes effect from the revocation on, naming it, and appends nothing', async () => {
      const { id, code } = await recordRevoked();
      const before = (await t.measureEvents(id)).length;

      const amendment = await rejectionOf(t.measure(code, amend(REVOKED_AT), { now }));
      const suspension = await rejectionOf(
        t.measure(
          code,
          {
            action: 'schedule-suspension',
            body: { startsAt: '2027-07-01T00:00:00Z', duration: 'P90D', sources },
          },
          { now },
        ),
      );

      expect(amendment).toBeInstanceOf(DomainError);
      expect(amendment).toMatchObject({
        code: 'measure-revoked',
        kind: 'conflict',
        details: { measureId: id, revokedAt: REVOKED_AT, field: 'effectiveAt' },
      });
      expect(suspension).toMatchObject({
        code: 'measure-revoked',
        details: { revokedAt: REVOKED_AT, field: 'startsAt' },
      });
      expect(await t.measureEvents(id)).toHaveLength(before);
    });

    it('refuses nothing once the revocation is retracted', async () => {
      const { id, code, revocationId } = await recordRevoked();
      await t.measure(
        code,
        {
          action: 'retract-event',
          body: { eventId: revocationId, reason: 'Not revoked', sources },
        },
        { now },
      );

      await t.measure(code, amend('2027-07-01T00:00:00Z'), { now });

      expect((await t.measureEvents(id)).at(-1)).toMatchObject({
        type: 'MeasureRateAmended',
        payload: { effectiveAt: '2027-07-01T00:00:00.000Z' },
      });
    });
  });
});
