import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { type ApiAndWorker, startApiAndWorker } from './support/api-and-worker';
import { keyHeader, postWrite, suffix, tick } from './support/write-api';

const source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  documentNumber: 'EO 99996',
  official: true,
  language: 'en',
};

interface Rate {
  type: string;
  percent: number;
}

interface MeasureDetail {
  status: string | null;
  rate: Rate | null;
  fullRate: Rate | null;
  scope: { inclusions?: string[] } | null;
  activeExclusions: Array<{ id: string; description: string }>;
  exclusions: Array<{ id: string }>;
  suspensions: Array<{ id: string; onAsOf: { state: string; endsAt: string | null } }>;
}

interface ListItem {
  code: string;
  status: string | null;
  rate: Rate | null;
  fullRate: Rate | null;
}

interface TariffLine {
  code: string;
  status: string;
  fullRate: Rate | null;
  rateInForce: Rate | null;
}

/**
 * What a client reads of a measure whose revocation was recorded after facts dated at or past
 * it (recorded while no revocation stood, the decider took them): from the revocation on, none
 * of them is in effect, on any read route; as known before the revocation was recorded, they
 * all are.
 */
describe('a revoked measure, with facts on record for dates past its revocation', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let viewer: Record<string, string>;
  let editor: Record<string, string>;
  /** The latest write, for `minPosition`. */
  let position = 0;
  /** An instant after every fact but before the revocations were recorded. */
  let before = '';

  const read = (url: string, query: Record<string, string | number> = {}) =>
    app
      .http()
      .get(url)
      .query({ minPosition: position, ...query })
      .set(viewer);
  const write = async (url: string, body: Record<string, unknown>, status = 200) => {
    const written = await postWrite(() => app.http(), editor, url, body, status);
    position = written.position;
    return written;
  };

  // In force from January 2027 at 20%, revoked from 1 June 2027. Recorded before the revocation:
  // a suspension running across it and one starting after it, an exclusion granted before it
  // and one after it, and an amendment to 30% that takes Hong Kong's goods in, from August.
  const inForce = `REVOKED-IN-FORCE-${suffix()}`;
  const REVOKED = '2027-06-01T04:00:00.000Z';
  const ids = { across: '', after: '', early: '', late: '' };
  // The US duties on Mexico (2019), in the past: announced at 25% to take effect in July,
  // withdrawn from June, with an amendment to 30% and an exclusion from August recorded before.
  const withdrawn = `WITHDRAWN-${suffix()}`;
  const WITHDRAWN_AT = '2026-06-01T04:00:00.000Z';

  const AFTER = ['2027-06-01T04:00:00.000Z', '2027-07-20T00:00:00Z', '2027-08-20T00:00:00Z'];
  const BEFORE_REVOCATION = '2027-05-15T00:00:00Z';
  const LATE_SUMMER = '2027-08-20T00:00:00Z';
  const percent = (value: number): Rate => ({ type: 'ad-valorem', percent: value });

  const detail = async (code: string, query: Record<string, string>) => {
    const response = await read(`/api/v1/measures/${code}`, query);
    expect(response.status).toBe(200);
    return response.body as MeasureDetail;
  };
  const standing = (body: MeasureDetail) =>
    Object.fromEntries(body.suspensions.map((s) => [s.id, s.onAsOf.state]));
  const listed = async (query: Record<string, string>) => {
    const response = await read('/api/v1/measures', { limit: 200, ...query });
    expect(response.status).toBe(200);
    return response.body.items as ListItem[];
  };
  const summaryLine = async (code: string, targetParty: string, query: Record<string, string>) => {
    const response = await read('/api/v1/tariffs/summary', {
      imposingParty: 'US',
      targetParty,
      ...query,
    });
    expect(response.status).toBe(200);
    const { economyWide, productSpecific } = response.body as {
      economyWide: { measures: TariffLine[] };
      productSpecific: { measures: TariffLine[] };
    };
    return [...economyWide.measures, ...productSpecific.measures].find((l) => l.code === code);
  };

  beforeAll(async () => {
    app = await startApiAndWorker('e2e_revoked_status', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
    });
    viewer = await keyHeader(() => app.http(), adminKey, 'viewer');
    editor = await keyHeader(() => app.http(), adminKey, 'editor');

    const measure = (code: string) => `/api/v1/measures/${code}`;
    const duty = (code: string, body: Record<string, unknown>) =>
      write(
        '/api/v1/measures',
        {
          code,
          title: `Test duty (${code})`,
          kind: 'tariff',
          imposingParty: 'US',
          timeZone: 'America/New_York',
          sources: [source],
          ...body,
        },
        201,
      );
    await duty(inForce, {
      targetParties: ['CN'],
      rate: percent(20),
      scope: { description: 'All products of China', allProducts: true },
      effectiveAt: '2027-01-01T05:00:00Z',
    });
    const suspend = async (startsAt: string, endsAt: string, points: number) =>
      (
        await write(
          `${measure(inForce)}/suspensions`,
          { startsAt, endsAt, part: { percentPoints: points }, sources: [source] },
          201,
        )
      ).suspensionId!;
    ids.across = await suspend('2027-02-01T05:00:00Z', '2027-09-01T04:00:00Z', 5);
    ids.after = await suspend('2027-07-15T04:00:00Z', '2027-10-01T04:00:00Z', 10);
    const exclude = async (description: string, effectiveAt: string) => {
      const written = await write(
        `${measure(inForce)}/exclusions`,
        { description, effectiveAt, sources: [source] },
        201,
      );
      return (written as unknown as { exclusionId: string }).exclusionId;
    };
    ids.early = await exclude('Cranes', '2027-03-01T05:00:00Z');
    ids.late = await exclude('Pharmaceuticals', '2027-08-01T04:00:00Z');
    await write(`${measure(inForce)}/amendments`, {
      rate: percent(30),
      scope: {
        description: 'All products of China and Hong Kong',
        allProducts: true,
        inclusions: ['HK'],
      },
      effectiveAt: '2027-08-01T04:00:00Z',
      sources: [source],
    });

    await duty(withdrawn, {
      targetParties: ['MX'],
      rate: percent(25),
      scope: { description: 'All products of Mexico', allProducts: true },
      announcedAt: '2026-03-01T05:00:00Z',
      effectiveAt: '2026-07-01T04:00:00Z',
    });
    await write(`${measure(withdrawn)}/amendments`, {
      rate: percent(30),
      effectiveAt: '2026-08-01T04:00:00Z',
      sources: [source],
    });
    await write(
      `${measure(withdrawn)}/exclusions`,
      { description: 'Auto parts', effectiveAt: '2026-08-01T04:00:00Z', sources: [source] },
      201,
    );

    await tick();
    before = new Date().toISOString();
    await tick();
    await write(`${measure(inForce)}/revocation`, { effectiveAt: REVOKED, sources: [source] });
    await write(`${measure(withdrawn)}/revocation`, {
      effectiveAt: WITHDRAWN_AT,
      sources: [source],
    });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  describe('GET /api/v1/measures/{code}', () => {
    it('shows nothing of the measure in effect from the revocation on, and the terms it ended with', async () => {
      for (const asOf of AFTER) {
        const body = await detail(inForce, { asOf });
        expect(body).toMatchObject({
          status: 'revoked',
          rate: null,
          fullRate: percent(20),
          activeExclusions: [],
        });
        expect(body.scope?.inclusions).toBeUndefined();
        // The one running across the revocation ended with it; the other never started.
        expect(standing(body)).toEqual({ [ids.across]: 'ended', [ids.after]: 'not-started' });
        // The record keeps both exclusions: what was granted, not what is in effect.
        expect(body.exclusions.map((e) => e.id)).toEqual([ids.early, ids.late]);
      }
    });

    it('answers as before on a date before the revocation', async () => {
      const body = await detail(inForce, { asOf: BEFORE_REVOCATION });
      expect(body).toMatchObject({
        status: 'partially-suspended',
        rate: percent(15),
        fullRate: percent(20),
        activeExclusions: [{ id: ids.early, description: 'Cranes' }],
      });
      expect(standing(body)).toEqual({ [ids.across]: 'in-effect', [ids.after]: 'not-started' });
    });

    it('shows every fact in effect as known before the revocation was recorded', async () => {
      const body = await detail(inForce, { asOf: LATE_SUMMER, knownAt: before });
      expect(body).toMatchObject({
        status: 'partially-suspended',
        rate: percent(15),
        fullRate: percent(30),
        scope: { inclusions: ['HK'] },
        activeExclusions: [
          { id: ids.early, description: 'Cranes' },
          { id: ids.late, description: 'Pharmaceuticals' },
        ],
      });
      expect(standing(body)).toEqual({ [ids.across]: 'in-effect', [ids.after]: 'in-effect' });
    });

    it('shows a measure withdrawn before it took effect with the rate it was to set', async () => {
      for (const asOf of ['2026-07-15T00:00:00Z', '2026-09-01T00:00:00Z']) {
        expect(await detail(withdrawn, { asOf })).toMatchObject({
          status: 'revoked',
          rate: null,
          fullRate: percent(25),
          activeExclusions: [],
        });
      }
      // As known before the withdrawal: in force from July, amended and an exclusion from August.
      expect(
        await detail(withdrawn, { asOf: '2026-07-15T00:00:00Z', knownAt: before }),
      ).toMatchObject({ status: 'in-force', rate: percent(25), activeExclusions: [] });
      expect(
        await detail(withdrawn, { asOf: '2026-09-01T00:00:00Z', knownAt: before }),
      ).toMatchObject({
        status: 'in-force',
        rate: percent(30),
        activeExclusions: [{ description: 'Auto parts' }],
      });
      expect(await detail(withdrawn, { asOf: '2026-05-01T00:00:00Z' })).toMatchObject({
        status: 'announced',
        fullRate: percent(25),
      });
    });
  });

  describe('GET /api/v1/measures and the CSV export', () => {
    const item = async (code: string, query: Record<string, string>) =>
      (await listed({ q: code, ...query })).find((i) => i.code === code);

    it('lists the measure revoked, at the rate it ended with, from the revocation on', async () => {
      for (const asOf of AFTER) {
        expect(await item(inForce, { asOf })).toMatchObject({
          status: 'revoked',
          rate: null,
          fullRate: percent(20),
        });
      }
      expect(await item(inForce, { asOf: BEFORE_REVOCATION })).toMatchObject({
        status: 'partially-suspended',
        rate: percent(15),
        fullRate: percent(20),
      });
      expect(await item(inForce, { asOf: LATE_SUMMER, knownAt: before })).toMatchObject({
        status: 'partially-suspended',
        rate: percent(15),
        fullRate: percent(30),
      });
      // Listed today from the item stored with the row (the revocation has taken effect).
      for (const asOf of ['2026-09-01T00:00:00Z', new Date().toISOString()]) {
        expect(await item(withdrawn, { asOf })).toMatchObject({
          status: 'revoked',
          rate: null,
          fullRate: percent(25),
        });
      }
      expect(
        await item(withdrawn, { asOf: '2026-09-01T00:00:00Z', knownAt: before }),
      ).toMatchObject({ status: 'in-force', fullRate: percent(30) });
    });

    it('finds it for a territory only by the scope it ended with', async () => {
      const hk = async (query: Record<string, string>) =>
        (await listed({ targetParty: 'HK', ...query })).map((i) => i.code);
      expect(await hk({ asOf: LATE_SUMMER })).not.toContain(inForce);
      expect(await hk({ asOf: LATE_SUMMER, knownAt: before })).toContain(inForce);
    });

    it('exports the same rows', async () => {
      const rows = async (query: Record<string, string>) => {
        const response = await read('/api/v1/measures.csv', { q: inForce, ...query });
        expect(response.status).toBe(200);
        return parse<Record<string, string>>(response.text, { columns: true });
      };
      expect(await rows({ asOf: LATE_SUMMER })).toEqual([
        expect.objectContaining({ code: inForce, status: 'revoked', rate: '', fullRate: '20%' }),
      ]);
      expect(await rows({ asOf: LATE_SUMMER, knownAt: before })).toEqual([
        expect.objectContaining({
          code: inForce,
          status: 'partially-suspended',
          rate: '15%',
          fullRate: '30%',
        }),
      ]);
    });
  });

  describe('GET /api/v1/tariffs/summary', () => {
    it('counts the measure until its revocation, and as known before it was recorded', async () => {
      for (const asOf of AFTER) {
        expect(await summaryLine(inForce, 'CN', { asOf })).toBeUndefined();
        expect(await summaryLine(inForce, 'HK', { asOf })).toBeUndefined();
      }
      expect(await summaryLine(inForce, 'CN', { asOf: BEFORE_REVOCATION })).toMatchObject({
        status: 'partially-suspended',
        fullRate: percent(20),
        rateInForce: percent(15),
      });
      for (const targetParty of ['CN', 'HK']) {
        expect(
          await summaryLine(inForce, targetParty, { asOf: LATE_SUMMER, knownAt: before }),
        ).toMatchObject({
          status: 'partially-suspended',
          fullRate: percent(30),
          rateInForce: percent(15),
        });
      }
      expect(await summaryLine(withdrawn, 'MX', { asOf: '2026-09-01T00:00:00Z' })).toBeUndefined();
    });
  });

  describe('GET /api/v1/expiries', () => {
    it('leaves out the ends the revocation comes before, unless known before it was recorded', async () => {
      const ends = async (query: Record<string, string>) => {
        const response = await read('/api/v1/expiries', {
          from: '2027-01-01',
          to: '2027-12-31',
          limit: 200,
          ...query,
        });
        expect(response.status).toBe(200);
        return (
          response.body.items as Array<{
            suspensionId: string;
            endsAt: string;
            measure: { code: string };
          }>
        )
          .filter((end) => end.measure.code === inForce)
          .map((end) => `${end.suspensionId} ${end.endsAt}`);
      };
      expect(await ends({})).toEqual([]);
      expect(await ends({ knownAt: before })).toEqual([
        `${ids.across} 2027-09-01T04:00:00.000Z`,
        `${ids.after} 2027-10-01T04:00:00.000Z`,
      ]);
    });
  });
});
