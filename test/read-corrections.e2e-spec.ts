import { randomBytes } from 'node:crypto';
import { type ApiAndWorker, startApiAndWorker } from './support/api-and-worker';
import {
  agreementBody,
  cnCountermeasureBody,
  keyHeader,
  postWrite,
  suffix,
  tick,
} from './support/write-api';

const source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  documentNumber: 'EO 99997',
  official: true,
  language: 'en',
};

/**
 * Read-side answers that an earlier review found wrong: a party matched through a scope not in
 * force, a countermeasure link missing as known before its retraction, and an agreement
 * reaffirming others before it was concluded.
 */
describe('read API corrections, api and worker in one process', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let viewer: Record<string, string>;
  let editor: Record<string, string>;

  const read = (url: string, query: Record<string, string | number> = {}) =>
    app.http().get(url).query(query).set(viewer);

  const write = (url: string, body: Record<string, unknown>, status = 200) =>
    postWrite(() => app.http(), editor, url, body, status);
  const createKey = (role: 'viewer' | 'editor') => keyHeader(() => app.http(), adminKey, role);

  /** A US duty on Chinese goods, in force from 2025, with the scope given. */
  const usDuty = (code: string, scope: Record<string, unknown>) =>
    write(
      '/api/v1/measures',
      {
        code,
        title: `Test duty on products of China (${code})`,
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 20 },
        scope: { description: 'All products', allProducts: true, ...scope },
        timeZone: 'America/New_York',
        effectiveAt: '2025-01-01T05:00:00Z',
        sources: [source],
      },
      201,
    );

  const suspend = (code: string, startsAt: string, endsAt: string) =>
    write(`/api/v1/measures/${code}/suspensions`, { startsAt, endsAt, sources: [source] }, 201);

  const rescope = (code: string, inclusions: string[], effectiveAt: string) =>
    write(`/api/v1/measures/${code}/amendments`, {
      scope: { description: 'All products', allProducts: true, inclusions },
      effectiveAt,
      sources: [source],
    });

  beforeAll(async () => {
    app = await startApiAndWorker('e2e_read_corrections', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
    });
    viewer = await createKey('viewer');
    editor = await createKey('editor');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  describe('a territory a scope takes in or drops from a date', () => {
    /** Hong Kong is taken in from 2027; one suspension ends before, one after. */
    const widened = { code: `HK-LATER-${suffix()}`, early: '', late: '' };
    /** Hong Kong is dropped from 2026; its suspension ends after. */
    const narrowed = { code: `HK-DROPPED-${suffix()}`, only: '' };
    let minPosition = 0;

    beforeAll(async () => {
      await usDuty(widened.code, {});
      widened.early =
        (await suspend(widened.code, '2025-06-01T04:00:00Z', '2026-06-01T04:00:00Z'))
          .suspensionId ?? '';
      await rescope(widened.code, ['HK'], '2027-01-01T05:00:00Z');
      widened.late =
        (await suspend(widened.code, '2027-06-01T04:00:00Z', '2028-01-01T05:00:00Z'))
          .suspensionId ?? '';

      await usDuty(narrowed.code, { inclusions: ['HK'] });
      await rescope(narrowed.code, [], '2026-01-01T05:00:00Z');
      const only = await suspend(narrowed.code, '2026-03-01T05:00:00Z', '2026-09-01T04:00:00Z');
      narrowed.only = only.suspensionId ?? '';
      minPosition = only.position;
    });

    const window = { from: '2026-01-01', to: '2029-01-01' };
    const endsFor = async (query: Record<string, string | number>) => {
      const response = await read('/api/v1/expiries', { ...window, limit: 100, ...query });
      expect(response.status).toBe(200);
      return (
        response.body.items as Array<{ suspensionId: string; measure: { code: string } }>
      ).map((item) => `${item.measure.code}/${item.suspensionId}`);
    };

    it('lists an expiry for a territory only if the scope in force at its end includes it', async () => {
      expect(await endsFor({ targetParty: 'HK', minPosition })).toEqual([
        `${widened.code}/${widened.late}`,
      ]);
      // Their target party, whatever the scope.
      expect(await endsFor({ targetParty: 'CN' })).toEqual([
        `${widened.code}/${widened.early}`,
        `${narrowed.code}/${narrowed.only}`,
        `${widened.code}/${widened.late}`,
      ]);
    });

    it('does so too as known at a past time, for measures changed since', async () => {
      await tick();
      const knownAt = new Date().toISOString();
      await tick();
      // Recorded after knownAt: both measures' ends are folded from the log as known then. (In
      // force after the timeline's window below, which these facts then stay out of.)
      const raise = (code: string) =>
        write(`/api/v1/measures/${code}/amendments`, {
          rate: { type: 'ad-valorem', percent: 25 },
          effectiveAt: '2030-06-01T04:00:00Z',
          sources: [source],
        });
      await raise(widened.code);
      const later = await raise(narrowed.code);
      expect(await endsFor({ targetParty: 'HK', knownAt, minPosition: later.position })).toEqual([
        `${widened.code}/${widened.late}`,
      ]);
    });

    it('puts a fact on a territory’s timeline only while the scope in force includes it', async () => {
      const facts = async (party: string) => {
        const response = await read('/api/v1/timeline', {
          party,
          from: '2024-01-01',
          to: '2030-01-01',
          limit: 100,
          minPosition,
        });
        expect(response.status).toBe(200);
        return (
          response.body.items as Array<{
            type: string;
            effectiveAt: string;
            parties: string[];
            measure: { code: string } | null;
          }>
        ).map((item) => `${item.measure?.code} ${item.type} ${item.effectiveAt}`);
      };
      expect(await facts('HK')).toEqual([
        // Under Hong Kong until its scope dropped it, and the amendment that dropped it.
        `${narrowed.code} MeasureImplemented 2025-01-01T05:00:00.000Z`,
        `${narrowed.code} MeasureScopeAmended 2026-01-01T05:00:00.000Z`,
        // Hong Kong's from the amendment that took it in.
        `${widened.code} MeasureScopeAmended 2027-01-01T05:00:00.000Z`,
        `${widened.code} SuspensionStarted 2027-06-01T04:00:00.000Z`,
      ]);
      const onChina = await facts('CN');
      expect(onChina).toContain(`${widened.code} SuspensionStarted 2025-06-01T04:00:00.000Z`);
      expect(onChina).toContain(`${narrowed.code} SuspensionStarted 2026-03-01T05:00:00.000Z`);
    });
  });

  describe('a territory on the timeline as known at a past time', () => {
    it('follows the scope as recorded then, not as amended or restored since', async () => {
      const code = `HK-KNOWN-${suffix()}`;
      await usDuty(code, { inclusions: ['HK'] });
      const started = `${code} SuspensionStarted 2026-12-01T05:00:00.000Z`;
      await suspend(code, '2026-12-01T05:00:00Z', '2027-06-01T04:00:00Z');
      await tick();
      const beforeDrop = new Date().toISOString();
      await tick();
      // Recorded after beforeDrop: Hong Kong leaves the scope from June 2026.
      const dropped = await rescope(code, [], '2026-06-01T04:00:00Z');
      await tick();
      const whileDropped = new Date().toISOString();
      await tick();
      const restored = await write(`/api/v1/measures/${code}/retractions`, {
        eventId: dropped.eventIds[0],
        reason: 'Recorded in error',
        sources: [source],
      });
      const onHongKong = async (knownAt?: string) => {
        const response = await read('/api/v1/timeline', {
          party: 'HK',
          from: '2026-11-01',
          to: '2027-01-01',
          limit: 100,
          minPosition: restored.position,
          ...(knownAt ? { knownAt } : {}),
        });
        expect(response.status).toBe(200);
        return (
          response.body.items as Array<{
            type: string;
            effectiveAt: string;
            measure: { code: string };
          }>
        ).map((item) => `${item.measure.code} ${item.type} ${item.effectiveAt}`);
      };
      // Before the amendment was recorded, and after its retraction, the start is Hong Kong's.
      expect(await onHongKong(beforeDrop)).toContain(started);
      expect(await onHongKong()).toContain(started);
      // While the amendment stood, Hong Kong was out of the scope on that date.
      expect(await onHongKong(whileDropped)).not.toContain(started);
    });
  });

  describe('countermeasures as known at a past time', () => {
    it('lists a countermeasure whose link was retracted only after that time', async () => {
      const usCode = `ASKED-${suffix()}`;
      await usDuty(usCode, {});
      const cnCode = `ANSWER-${suffix()}`;
      const answer = await write(
        '/api/v1/measures',
        cnCountermeasureBody(cnCode, { respondsTo: [usCode] }),
        201,
      );
      const reply = [{ id: answer.id, code: cnCode }];
      const history = await read(`/api/v1/measures/${cnCode}/events`);
      const link = (history.body.items as Array<{ type: string; eventId: string }>).find(
        (event) => event.type === 'CountermeasureLinked',
      );
      expect(link).toBeDefined();
      await tick();
      const linked = new Date().toISOString();
      await tick();
      const unlinked = await write(`/api/v1/measures/${cnCode}/retractions`, {
        eventId: link?.eventId,
        reason: 'Not an answer to it',
        sources: [source],
      });

      const now = await read(`/api/v1/measures/${usCode}`, { minPosition: unlinked.position });
      expect(now.body.countermeasures).toEqual([]);
      // Nothing of the measure itself was recorded since: its row answers, links as known then.
      const then = await read(`/api/v1/measures/${usCode}`, { knownAt: linked });
      expect(then.status).toBe(200);
      expect(then.body.countermeasures).toEqual(reply);
      // And the countermeasure, folded as known then, names what it responded to.
      const answerThen = await read(`/api/v1/measures/${cnCode}`, { knownAt: linked });
      expect(answerThen.body.respondsTo).toEqual([{ id: expect.any(String), code: usCode }]);

      // The measure changed since too: folded from the log, with the same links.
      await tick();
      const amended = await write(`/api/v1/measures/${usCode}/amendments`, {
        rate: { type: 'ad-valorem', percent: 30 },
        effectiveAt: '2025-09-01T04:00:00Z',
        sources: [source],
      });
      const folded = await read(`/api/v1/measures/${usCode}`, {
        knownAt: linked,
        minPosition: amended.position,
      });
      expect(folded.body.countermeasures).toEqual(reply);
      expect(folded.body.version).toBe(now.body.version);
    });
  });

  describe('an agreement before its conclusion', () => {
    it('reaffirms nothing yet, as it has no status yet', async () => {
      const madrid = await write(
        '/api/v1/agreements',
        agreementBody(`MADRID-${suffix()}`, { concludedAt: '2025-06-10T10:00:00Z' }),
        201,
      );
      const kualaLumpurCode = `KL-${suffix()}`;
      await write(
        '/api/v1/agreements',
        agreementBody(kualaLumpurCode, { concludedAt: '2025-10-30T03:00:00Z' }),
        201,
      );
      const reaffirmed = await write(`/api/v1/agreements/${kualaLumpurCode}/reaffirmations`, {
        reaffirms: madrid.id,
        sources: [source],
      });
      const minPosition = reaffirmed.position;

      const before = await read(`/api/v1/agreements/${kualaLumpurCode}`, {
        asOf: '2025-09-01T00:00:00Z',
        minPosition,
      });
      expect(before.status).toBe(200);
      expect(before.body).toMatchObject({ status: null, reaffirms: [] });
      const after = await read(`/api/v1/agreements/${kualaLumpurCode}`, {
        asOf: '2025-11-01T00:00:00Z',
      });
      expect(after.body).toMatchObject({
        status: 'concluded',
        reaffirms: [{ id: madrid.id, code: expect.stringMatching(/^MADRID-/) }],
      });

      // The list reads the same.
      const listed = async (asOf: string) => {
        const items: Array<{ code: string; reaffirms: unknown[] }> = [];
        for (let cursor: string | null = null; ;) {
          const page = await read('/api/v1/agreements', {
            asOf,
            limit: 100,
            ...(cursor ? { cursor } : {}),
          });
          expect(page.status).toBe(200);
          items.push(...page.body.items);
          cursor = page.body.nextCursor;
          if (!cursor) break;
        }
        return items.find((item) => item.code === kualaLumpurCode);
      };
      expect((await listed('2025-09-01T00:00:00Z'))?.reaffirms).toEqual([]);
      expect((await listed('2025-11-01T00:00:00Z'))?.reaffirms).toHaveLength(1);
    });
  });
});
