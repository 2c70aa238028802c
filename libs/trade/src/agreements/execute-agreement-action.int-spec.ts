import { randomUUID } from 'node:crypto';
import { DomainError } from '@app/domain';
import { createTestDatabase, eventually, type TestDatabase } from '@app/testing';
import {
  EDITOR,
  agreementBody,
  mofcom,
  rejectionOf,
  startTradeTestApp,
  uniqueCode,
  usTariff,
  whiteHouse,
  type TradeTestApp,
} from '../testing/trade-test-app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('ExecuteAgreementAction on PostgreSQL', () => {
  let db: TestDatabase;
  let t: TradeTestApp;

  beforeAll(async () => {
    db = await createTestDatabase('trade_agreements');
    process.env.DATABASE_URL = db.url;
    t = await startTradeTestApp(db);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function conclude(code = uniqueCode('GENEVA')) {
    const result = await t.agreement(null, {
      action: 'conclude-agreement',
      body: agreementBody({ code }),
    });
    return { id: result.id, code, result };
  }

  async function recordMeasure() {
    const code = uniqueCode('US-RECIPROCAL');
    const { id } = await t.measure(null, { action: 'record-measure', body: usTariff({ code }) });
    return { id, code };
  }

  const commitment = (measures?: string[]) => ({
    action: 'record-commitment' as const,
    body: {
      obligor: 'US',
      kind: 'suspend' as const,
      text: 'Suspend 24 of the 34 percentage points for 90 days',
      measures,
      sources: [whiteHouse],
    },
  });

  describe('concluding an agreement', () => {
    it('stores AgreementConcluded with the actor and sources, and claims its code', async () => {
      const code = uniqueCode('Geneva');

      const result = await t.agreement(
        null,
        { action: 'conclude-agreement', body: agreementBody({ code }) },
        { actor: 'editor-bob' },
      );

      expect(result).toEqual({
        id: expect.stringMatching(UUID),
        version: 1,
        position: expect.any(Number),
        eventIds: [expect.stringMatching(UUID)],
        replayed: false,
      });
      const [concluded] = await t.agreementEvents(result.id);
      expect(concluded).toMatchObject({
        type: 'AgreementConcluded',
        eventId: result.eventIds[0],
        position: result.position,
        payload: {
          agreementId: result.id,
          code,
          parties: ['US', 'CN'],
          venue: 'Geneva',
          effectiveAt: '2025-05-12T08:00:00.000Z',
          sources: [whiteHouse],
        },
        metadata: { actor: 'editor-bob', sources: [whiteHouse] },
      });
      expect(await t.codeRows(result.id)).toEqual([
        { kind: 'agreement', normalized_code: code.toUpperCase(), code, aggregate_id: result.id },
      ]);
      expect(await t.codes.resolve('agreement', code.toLowerCase())).toBe(result.id);
    });

    it('refuses an agreement code that is taken (any case) and appends nothing for it', async () => {
      const first = await conclude();
      const secondId = randomUUID();

      const error = await rejectionOf(
        t.agreement(null, {
          action: 'conclude-agreement',
          agreementId: secondId,
          body: agreementBody({ code: first.code.toLowerCase(), title: 'Another statement' }),
        }),
      );

      expect(error).toBeInstanceOf(DomainError);
      expect(error).toMatchObject({ code: 'agreement-code-taken' });
      expect(await t.agreementEvents(secondId)).toEqual([]);
      expect(await t.codes.resolve('agreement', first.code)).toBe(first.id);
    });

    it('keeps measure and agreement codes apart', async () => {
      const measure = await recordMeasure();
      const agreement = await conclude(measure.code);
      expect(await t.codes.resolve('agreement', measure.code)).toBe(agreement.id);
      expect(await t.codes.resolve('measure', measure.code)).toBe(measure.id);
    });

    // POST /api/v1/agreements with an Idempotency-Key sends no agreement id.
    it('returns a retried conclude-agreement whose id the server generated', async () => {
      const commandId = `test:${randomUUID()}`;
      const action = {
        action: 'conclude-agreement' as const,
        body: agreementBody({ code: uniqueCode('RETRY') }),
      };

      const first = await t.agreement(null, action, { commandId });
      const second = await t.agreement(null, action, { commandId });

      expect(second).toEqual({ ...first, replayed: true });
    });
  });

  describe('commitments', () => {
    it('records a commitment naming measures by code or UUID, stored as their ids', async () => {
      const agreement = await conclude();
      const [a, b] = [await recordMeasure(), await recordMeasure()];

      const result = await t.agreement(agreement.code.toLowerCase(), commitment([a.code, b.id]));

      expect(result).toMatchObject({
        id: agreement.id,
        version: 2,
        commitmentId: expect.any(String),
        replayed: false,
      });
      const recorded = (await t.agreementEvents(agreement.id)).at(-1);
      expect(recorded).toMatchObject({
        type: 'CommitmentRecorded',
        eventId: result.eventIds[0],
        payload: {
          commitmentId: result.commitmentId,
          obligor: 'US',
          kind: 'suspend',
          measures: [a.id, b.id],
          // Defaults to when the agreement was concluded.
          effectiveAt: '2025-05-12T08:00:00.000Z',
        },
        metadata: { actor: EDITOR, sources: [whiteHouse] },
      });
    });

    it('answers measure-not-found for an unknown measure and appends nothing', async () => {
      const agreement = await conclude();
      const error = await rejectionOf(
        t.agreement(agreement.id, commitment([uniqueCode('NO-SUCH-MEASURE')])),
      );
      expect(error).toMatchObject({ code: 'measure-not-found' });
      expect(await t.agreementEvents(agreement.id)).toHaveLength(1);
    });

    it('answers measure-not-found for a UUID that names no measure, or names an agreement, and appends nothing', async () => {
      const agreement = await conclude();
      const measure = await recordMeasure();
      for (const named of [randomUUID(), agreement.id]) {
        const error = await rejectionOf(t.agreement(agreement.id, commitment([measure.id, named])));
        expect(error).toMatchObject({
          code: 'measure-not-found',
          details: { measure: named, field: 'measures.1' },
        });
      }
      expect(await t.agreementEvents(agreement.id)).toHaveLength(1);
    });

    it('changes a commitment status, and refuses to set the status it already has', async () => {
      const agreement = await conclude();
      const { commitmentId } = await t.agreement(agreement.id, commitment());
      const fulfil = {
        action: 'change-commitment-status' as const,
        commitmentId: commitmentId as string,
        body: {
          status: 'fulfilled' as const,
          note: 'Suspension took effect on 14 May',
          effectiveAt: '2025-05-14T04:01:00Z',
          sources: [whiteHouse],
        },
      };

      const result = await t.agreement(agreement.code, fulfil);

      expect(result).toMatchObject({ id: agreement.id, version: 3 });
      expect((await t.agreementEvents(agreement.id)).at(-1)).toMatchObject({
        type: 'CommitmentStatusChanged',
        payload: {
          commitmentId,
          status: 'fulfilled',
          previousStatus: 'pending',
          effectiveAt: '2025-05-14T04:01:00.000Z',
        },
      });
      const again = await rejectionOf(t.agreement(agreement.code, fulfil));
      expect(again).toMatchObject({ code: 'commitment-status-unchanged' });
      const unknown = await rejectionOf(
        t.agreement(agreement.code, { ...fulfil, commitmentId: randomUUID() }),
      );
      expect(unknown).toMatchObject({ code: 'commitment-not-found' });
      expect(await t.agreementEvents(agreement.id)).toHaveLength(3);
    });

    it('replays a commitment retried with the same command id, with its commitment id', async () => {
      const agreement = await conclude();
      const commandId = `test:${randomUUID()}`;

      const first = await t.agreement(agreement.id, commitment(), { commandId });
      const second = await t.agreement(agreement.id, commitment(), { commandId });

      expect(second).toEqual({ ...first, replayed: true });
      expect(second.commitmentId).toEqual(expect.any(String));
      expect(await t.agreementEvents(agreement.id)).toHaveLength(2);
    });
  });

  describe('reaffirmations', () => {
    it('reaffirms an earlier agreement named by code, stored as its id', async () => {
      const madrid = await conclude(uniqueCode('MADRID'));
      const kualaLumpur = await conclude(uniqueCode('KUALA-LUMPUR'));

      const result = await t.agreement(kualaLumpur.code, {
        action: 'reaffirm-agreement',
        body: { reaffirms: madrid.code.toLowerCase(), sources: [mofcom] },
      });

      expect(result).toMatchObject({ id: kualaLumpur.id, version: 2 });
      expect((await t.agreementEvents(kualaLumpur.id)).at(-1)).toMatchObject({
        type: 'AgreementReaffirmed',
        payload: { reaffirms: madrid.id, sources: [mofcom] },
        metadata: { actor: EDITOR, sources: [mofcom] },
      });
    });

    it('answers agreement-not-found for an unknown earlier agreement and appends nothing', async () => {
      const agreement = await conclude();
      for (const reaffirms of [uniqueCode('NO-SUCH'), randomUUID()]) {
        const error = await rejectionOf(
          t.agreement(agreement.id, {
            action: 'reaffirm-agreement',
            body: { reaffirms, sources: [mofcom] },
          }),
        );
        expect(error).toMatchObject({ code: 'agreement-not-found' });
      }
      expect(await t.agreementEvents(agreement.id)).toHaveLength(1);
    });

    const reaffirm = (agreement: string, reaffirms: string) =>
      t.agreement(agreement, {
        action: 'reaffirm-agreement',
        body: { reaffirms, sources: [mofcom] },
      });

    it('refuses a reaffirmation that closes a cycle, directly or through others (422)', async () => {
      const [geneva, london, madrid] = await Promise.all([
        conclude(uniqueCode('GENEVA')),
        conclude(uniqueCode('LONDON')),
        conclude(uniqueCode('MADRID')),
      ]);
      await reaffirm(london.code, geneva.code);
      await reaffirm(madrid.code, london.code);
      const before = await t.store.headPosition();

      for (const [agreement, reaffirmed, cycle] of [
        [geneva, london, [geneva.id, london.id, geneva.id]],
        [geneva, madrid, [geneva.id, madrid.id, london.id, geneva.id]],
      ] as const) {
        const error = await rejectionOf(reaffirm(agreement.code, reaffirmed.code));
        expect(error).toMatchObject({
          code: 'agreement-reaffirmation-cycle',
          kind: 'invalid',
          details: { field: 'reaffirms', reaffirms: reaffirmed.id, cycle },
        });
      }
      expect(await rejectionOf(reaffirm(geneva.code, geneva.id))).toMatchObject({
        code: 'agreement-self-reaffirmation',
        kind: 'invalid',
      });
      expect(await t.store.headPosition()).toBe(before);
    });

    it('refuses the second of two crossing reaffirmations that both passed the check before appending', async () => {
      const [madrid, kualaLumpur] = await Promise.all([
        conclude(uniqueCode('MADRID')),
        conclude(uniqueCode('KUALA-LUMPUR')),
      ]);
      // Appends wait until both commands have read the graph (with neither reaffirmation in it)
      // and are writing: the race a check made only before the append would lose.
      const gate = await db.pool.connect();
      try {
        await gate.query('BEGIN');
        await gate.query('LOCK TABLE events IN SHARE MODE');
        const crossing = Promise.allSettled([
          reaffirm(kualaLumpur.code, madrid.code),
          reaffirm(madrid.code, kualaLumpur.code),
        ]);
        await eventually(async () => {
          const { rows } = await db.pool.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity
              WHERE datname = current_database() AND wait_event_type = 'Lock'
                AND query LIKE '%accord_append%'`,
          );
          expect(rows[0].n).toBe(2);
        });
        await gate.query('COMMIT');
        const outcomes = await crossing;

        expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['fulfilled', 'rejected']);
        const refused = outcomes.find((outcome) => outcome.status === 'rejected');
        expect(refused?.reason).toMatchObject({ code: 'agreement-reaffirmation-cycle' });
      } finally {
        await gate.query('ROLLBACK').catch(() => undefined);
        gate.release();
      }
      const reaffirmations = [
        ...(await t.agreementEvents(madrid.id)),
        ...(await t.agreementEvents(kualaLumpur.id)),
      ].filter((event) => event.type === 'AgreementReaffirmed');
      expect(reaffirmations).toHaveLength(1);
    });

    it('refuses to revive, by retracting its retraction, a reaffirmation that would now close a cycle', async () => {
      const [madrid, kualaLumpur] = await Promise.all([
        conclude(uniqueCode('MADRID')),
        conclude(uniqueCode('KUALA-LUMPUR')),
      ]);
      const wrong = await reaffirm(madrid.code, kualaLumpur.code);
      const retraction = await t.agreement(madrid.code, {
        action: 'retract-event',
        body: { eventId: wrong.eventIds[0], reason: 'The other way round', sources: [mofcom] },
      });
      await reaffirm(kualaLumpur.code, madrid.code);
      const before = await t.store.headPosition();

      const error = await rejectionOf(
        t.agreement(madrid.code, {
          action: 'retract-event',
          body: { eventId: retraction.eventIds[0], reason: 'It was right', sources: [mofcom] },
        }),
      );

      expect(error).toMatchObject({
        code: 'agreement-reaffirmation-cycle',
        details: { cycle: [madrid.id, kualaLumpur.id, madrid.id] },
      });
      expect(await t.store.headPosition()).toBe(before);
    });
  });

  it.each([
    ['an unknown code', () => uniqueCode('NO-SUCH-AGREEMENT')],
    ['an unknown UUID', () => randomUUID()],
  ])('answers agreement-not-found for %s and appends nothing', async (_, unknown) => {
    const before = await t.store.headPosition();
    const error = await rejectionOf(t.agreement(unknown(), commitment()));
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'agreement-not-found' });
    expect(await t.store.headPosition()).toBe(before);
  });

  describe('suspensions that implement an agreement', () => {
    it('store the agreement named by code as its id', async () => {
      const agreement = await conclude();
      const measure = await recordMeasure();

      await t.measure(measure.code, {
        action: 'schedule-suspension',
        body: {
          startsAt: '2025-05-14T04:01:00Z',
          duration: 'P90D',
          part: { percentPoints: 24 },
          agreement: agreement.code.toLowerCase(),
          sources: [whiteHouse],
        },
      });

      const scheduled = (await t.measureEvents(measure.id)).find(
        (e) => e.type === 'SuspensionScheduled',
      );
      expect(scheduled?.payload).toMatchObject({ agreement: agreement.id });
    });

    it('answer agreement-not-found for an unknown agreement', async () => {
      const measure = await recordMeasure();
      const error = await rejectionOf(
        t.measure(measure.id, {
          action: 'schedule-suspension',
          body: {
            startsAt: '2025-05-14T04:01:00Z',
            duration: 'P90D',
            agreement: uniqueCode('NO-SUCH'),
            sources: [whiteHouse],
          },
        }),
      );
      expect(error).toMatchObject({ code: 'agreement-not-found' });
      expect(await t.measureEvents(measure.id)).toHaveLength(2);
    });

    it('answer agreement-not-found for a UUID that names no agreement, or names a measure, scheduled or extended', async () => {
      const agreement = await conclude();
      const measure = await recordMeasure();
      const scheduled = await t.measure(measure.id, {
        action: 'schedule-suspension',
        body: {
          startsAt: '2025-05-14T04:01:00Z',
          duration: 'P90D',
          agreement: agreement.id.toUpperCase(),
          sources: [whiteHouse],
        },
      });
      for (const named of [randomUUID(), measure.id]) {
        const schedule = rejectionOf(
          t.measure(measure.id, {
            action: 'schedule-suspension',
            body: {
              startsAt: '2025-06-14T04:01:00Z',
              duration: 'P90D',
              agreement: named,
              sources: [whiteHouse],
            },
          }),
        );
        const extend = rejectionOf(
          t.measure(measure.id, {
            action: 'extend-suspension',
            suspensionId: scheduled.suspensionId ?? '',
            body: { endsAt: '2025-12-14T05:01:00Z', agreement: named, sources: [whiteHouse] },
          }),
        );
        for (const error of [await schedule, await extend]) {
          expect(error).toMatchObject({
            code: 'agreement-not-found',
            details: { agreement: named, field: 'agreement' },
          });
        }
      }
      expect(await t.measureEvents(measure.id)).toHaveLength(scheduled.version);
    });
  });
});
