import { DomainError } from '@app/domain';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import {
  rejectionOf,
  startTradeTestApp,
  uniqueCode,
  usTariff,
  whiteHouse,
  type TradeTestApp,
} from '../testing/trade-test-app';

// A revocation announced ahead of its date: the measure stays open to what happens before it.
describe('a measure revoked from a date still to come, on PostgreSQL', () => {
  let db: TestDatabase;
  let t: TradeTestApp;
  const now = new Date('2026-11-30T12:00:00Z');
  const REVOKED_AT = '2027-06-01T00:00:00.000Z';
  const sources = [whiteHouse];

  beforeAll(async () => {
    db = await createTestDatabase('trade_revoked');
    process.env.DATABASE_URL = db.url;
    t = await startTradeTestApp(db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

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
      { action: 'retract-event', body: { eventId: revocationId, reason: 'Not revoked', sources } },
      { now },
    );

    await t.measure(code, amend('2027-07-01T00:00:00Z'), { now });

    expect((await t.measureEvents(id)).at(-1)).toMatchObject({
      type: 'MeasureRateAmended',
      payload: { effectiveAt: '2027-07-01T00:00:00.000Z' },
    });
  });
});
