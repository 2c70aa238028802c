import { SEEDED_SETUP_TIMEOUT_MS, startSeededApi, type SeededApi } from './support/seeded-api';
import { bearer, type ApiKeyCreated, type WriteApiHarness } from './support/write-api';

/*
 * The figures an analyst reads off the bundled dataset, asked of the HTTP API, each against the
 * sourced timeline the dataset was built from (../shared/data/us-china-2025-timeline.md, kept
 * outside this repository). "L22 #1" is line 22 of that file, its row 1; "L63 B1" its expiry
 * list. Where the timeline gives a time (00:01 ET, 12:01 or 13:01 Beijing) the figure is checked
 * on both sides of that instant, 00:01 New York time being 04:01Z in summer and 05:01Z in
 * winter; where it gives a date only, at noon UTC on a day it covers (data/README.md places a
 * bare date at midnight in the authority's zone). What the timeline marks UNCONFIRMED (China's
 * February countermeasure after 10 Nov 2025, L51 #30, L79 B3) is not asserted.
 */

/** A line of the summary, in percent: its full rate, what is in force, what is suspended. */
type Line = [full: number, inForce: number, suspended: number];

/** A date's expected economy-wide figures, by measure and in total, and the lines they come from. */
interface Row {
  asOf: string;
  measures: Record<string, Line>;
  total: Line;
  source: string;
}

/** Table rows, `[asOf, { code: [full, in force, suspended] }, total, source]`, as `Row`s. */
const byDate = (table: Array<[string, Record<string, Line>, Line, string]>): Row[] =>
  table.map(([asOf, measures, total, source]) => ({ asOf, measures, total, source }));

interface SummaryLine {
  code: string | null;
  fullRate: { percent: number } | null;
  rateInForce: { percent: number } | null;
  suspendedPart: { percentPoints: number } | null;
}

interface SummaryGroup {
  measures: SummaryLine[];
  total: { fullPercent: number; inForcePercent: number; suspendedPercent: number };
}

describe('the bundled dataset against its sourced timeline, over HTTP', () => {
  let api: WriteApiHarness;
  let seeded: SeededApi;
  let viewer: ApiKeyCreated;

  const get = (path: string, query: Record<string, string> = {}) =>
    api.http().get(path).query(query).set(bearer(viewer.key));

  async function summary(imposingParty: string, targetParty: string, asOf: string) {
    const response = await get('/api/v1/tariffs/summary', { imposingParty, targetParty, asOf });
    expect(response.status).toBe(200);
    return response.body as { economyWide: SummaryGroup; productSpecific: SummaryGroup };
  }

  /** A group's measures by code, each as [full, in force, suspended], and its total alike. */
  function figures(group: SummaryGroup) {
    const measures = Object.fromEntries(
      group.measures.map((line): [string, Line] => [
        String(line.code),
        [
          line.fullRate?.percent ?? 0,
          line.rateInForce?.percent ?? 0,
          line.suspendedPart?.percentPoints ?? 0,
        ],
      ]),
    );
    const { fullPercent, inForcePercent, suspendedPercent } = group.total;
    return { measures, total: [fullPercent, inForcePercent, suspendedPercent] as Line };
  }

  async function measureOn(code: string, asOf: string) {
    const response = await get(`/api/v1/measures/${code}`, { asOf });
    expect(response.status).toBe(200);
    return response.body as {
      status: string;
      rate: { percent?: number } | null;
      activeSuspension: { endsAt: string | null } | null;
      exclusions: Array<{
        hsCodes: string[];
        endsAt: string | null;
        extensions: Array<{ previousEndsAt: string | null; endsAt: string }>;
      }>;
    };
  }

  beforeAll(async () => {
    seeded = await startSeededApi('dataset-facts');
    api = seeded.api;
    viewer = await api.createKey('viewer');
  }, SEEDED_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await seeded?.close();
  });

  describe('US duties on all goods of China, by date (economy-wide, in percent)', () => {
    const FENTANYL = 'US-IEEPA-FENTANYL-CN';
    const RECIPROCAL = 'US-RECIPROCAL-CN';
    it.each(
      byDate([
        ['2025-02-04T05:00:59Z', {}, [0, 0, 0], 'L22 #1: from 00:01 ET on 4 Feb'],
        ['2025-02-04T05:01:00Z', { [FENTANYL]: [10, 10, 0] }, [10, 10, 0], 'L22 #1'],
        ['2025-03-05T12:00:00Z', { [FENTANYL]: [20, 20, 0] }, [20, 20, 0], 'L24 #3'],
        [
          '2025-04-07T12:00:00Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [10, 10, 0] },
          [30, 30, 0],
          'L26 #5: the 10% baseline from 5 Apr',
        ],
        [
          '2025-04-09T12:00:00Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [84, 84, 0] },
          [104, 104, 0],
          'L26 #5, L28 #7: 34% from 9 Apr, raised to 84% that day',
        ],
        [
          '2025-04-10T04:00:59Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [84, 84, 0] },
          [104, 104, 0],
          'L30 #9: 125% from 00:01 ET on 10 Apr',
        ],
        [
          '2025-04-10T04:01:00Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [125, 125, 0] },
          [145, 145, 0],
          'L30 #9: "145% including fentanyl"',
        ],
        [
          '2025-05-14T04:00:59Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [125, 125, 0] },
          [145, 145, 0],
          'L33 #12: 00:01 EDT on 14 May',
        ],
        [
          '2025-05-14T04:01:00Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [34, 10, 24] },
          [54, 30, 24],
          'L32 #11, L33 #12: 34% with 24 points suspended, 10% applies',
        ],
        [
          '2025-09-01T12:00:00Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [34, 10, 24] },
          [54, 30, 24],
          'L35 #14: suspension extended, "10% stays"',
        ],
        [
          '2025-11-10T05:00:59Z',
          { [FENTANYL]: [20, 20, 0], [RECIPROCAL]: [34, 10, 24] },
          [54, 30, 24],
          'L49 #28: 20%→10% from 00:01 EST on 10 Nov',
        ],
        [
          '2025-11-10T05:01:00Z',
          { [FENTANYL]: [10, 10, 0], [RECIPROCAL]: [34, 10, 24] },
          [44, 20, 24],
          'L49 #28, L50 #29',
        ],
        [
          '2026-11-10T05:00:59Z',
          { [FENTANYL]: [10, 10, 0], [RECIPROCAL]: [34, 10, 24] },
          [44, 20, 24],
          'L50 #29, L63 B1: suspended until 00:01 EST on 10 Nov 2026',
        ],
        [
          '2026-11-10T05:01:00Z',
          { [FENTANYL]: [10, 10, 0], [RECIPROCAL]: [34, 34, 0] },
          [44, 44, 0],
          'L63 B1: the 24-point suspension ends',
        ],
      ]),
    )('on $asOf ($source)', async ({ asOf, measures, total }) => {
      const { economyWide } = await summary('US', 'CN', asOf);
      expect(figures(economyWide)).toEqual({ measures, total });
    });
  });

  describe("China's duties on all goods of the US, by date (economy-wide, in percent)", () => {
    const ANN_4 = 'CN-TC-2025-4';
    it.each(
      byDate([
        ['2025-04-09T12:00:00Z', {}, [0, 0, 0], 'L27 #6: from 10 Apr'],
        [
          '2025-04-10T12:00:00Z',
          { [ANN_4]: [84, 84, 0] },
          [84, 84, 0],
          'L27 #6, L29 #8: 34% and its raise to 84% both from 10 Apr',
        ],
        ['2025-04-12T12:00:00Z', { [ANN_4]: [125, 125, 0] }, [125, 125, 0], 'L31 #10'],
        [
          '2025-05-14T04:00:59Z',
          { [ANN_4]: [125, 125, 0] },
          [125, 125, 0],
          'L34 #13: 12:01 Beijing on 14 May',
        ],
        [
          '2025-05-14T04:01:00Z',
          { [ANN_4]: [34, 10, 24] },
          [34, 10, 24],
          'L34 #13: 34%→10% with 24% suspended',
        ],
        ['2025-09-01T12:00:00Z', { [ANN_4]: [34, 10, 24] }, [34, 10, 24], 'L36 #15: 10% kept'],
        [
          '2025-11-10T04:30:00Z',
          { [ANN_4]: [34, 34, 0] },
          [34, 34, 0],
          'L36 #15, L51 #30: 90 days from 12:01 on 12 Aug end at 12:01; the year runs from 13:01',
        ],
        [
          '2025-11-10T05:01:00Z',
          { [ANN_4]: [34, 10, 24] },
          [34, 10, 24],
          'L51 #30: 24% stays suspended one year from 13:01 on 10 Nov, 10% kept',
        ],
        ['2026-06-01T12:00:00Z', { [ANN_4]: [34, 10, 24] }, [34, 10, 24], 'L51 #30'],
        [
          '2026-11-10T05:00:59Z',
          { [ANN_4]: [34, 10, 24] },
          [34, 10, 24],
          'L63 B1: ends 13:01 Beijing on 10 Nov 2026',
        ],
        ['2026-11-10T05:01:00Z', { [ANN_4]: [34, 34, 0] }, [34, 34, 0], 'L63 B1'],
      ]),
    )('on $asOf ($source)', async ({ asOf, measures, total }) => {
      const { economyWide } = await summary('CN', 'US', asOf);
      expect(figures(economyWide)).toEqual({ measures, total });
    });
  });

  describe("China's duties on US product lists", () => {
    it('from 10 March 2025: 15% and 10% on energy and machinery, 15% and 10% on farm goods', async () => {
      const { productSpecific } = await summary('CN', 'US', '2025-03-10T12:00:00Z');
      // L23 #2 (10 Feb) and L25 #4 (10 Mar), one measure per rate.
      expect(figures(productSpecific).measures).toEqual({
        'CN-TC-2025-FEB-15PCT': [15, 15, 0],
        'CN-TC-2025-FEB-10PCT': [10, 10, 0],
        'CN-TC-2025-2-15PCT': [15, 15, 0],
        'CN-TC-2025-2-10PCT': [10, 10, 0],
      });
    });

    it('Ann. No. 2 stops at 13:01 Beijing time on 10 November 2025', async () => {
      const ann2 = ['CN-TC-2025-2-15PCT', 'CN-TC-2025-2-10PCT'];
      // L51 #30: "Ann. No. 2 measures stop" at 13:01 (05:01Z).
      const before = figures((await summary('CN', 'US', '2025-11-10T05:00:59Z')).productSpecific);
      expect(before.measures).toMatchObject({
        'CN-TC-2025-2-15PCT': [15, 15, 0],
        'CN-TC-2025-2-10PCT': [10, 10, 0],
      });
      const after = figures((await summary('CN', 'US', '2025-11-10T05:01:00Z')).productSpecific);
      for (const code of ann2) {
        expect(Object.keys(after.measures)).not.toContain(code);
        expect(await measureOn(code, '2025-11-10T05:01:00Z')).toMatchObject({
          status: 'revoked',
          rate: null,
        });
      }
    });
  });

  describe('which suspensions end when', () => {
    it('every suspension still running in November 2026 ends as the timeline says', async () => {
      const response = await get('/api/v1/expiries', {
        from: '2026-11-01',
        to: '2026-11-30',
        limit: '200',
      });
      expect(response.status).toBe(200);
      const ends = Object.fromEntries(
        (
          response.body.items as Array<{
            endsAt: string;
            part: { percentPoints: number } | null;
            measure: { code: string };
          }>
        ).map((item) => [item.measure.code, [item.endsAt, item.part?.percentPoints ?? null]]),
      );
      const est = '2026-11-10T05:01:00.000Z'; // 00:01 EST = 13:01 Beijing (L10, L63 B1)
      expect(ends).toEqual({
        // L50 #29 and L51 #30: 24 points each side.
        'US-RECIPROCAL-CN': [est, 24],
        'CN-TC-2025-4': [est, 24],
        // L56 #35: all three US ship fees.
        'US-301-SHIP-FEE-CN-OPERATED': [est, null],
        'US-301-SHIP-FEE-CN-BUILT': [est, null],
        'US-301-SHIP-FEE-VEHICLE-CARRIERS': [est, null],
        // L57 #36: one year from the US suspension's start.
        'CN-MOT-2025-54': [est, null],
        'CN-MOT-2025-55': [est, null],
        'CN-MOFCOM-HANWHA-2025': [est, null],
        // L53 #32: Ann. No. 70 suspends Nos. 55–58, 61 and 62.
        'CN-MOFCOM-2025-55': [est, null],
        'CN-MOFCOM-2025-56': [est, null],
        'CN-MOFCOM-2025-57': [est, null],
        'CN-MOFCOM-2025-58': [est, null],
        'CN-MOFCOM-2025-61': [est, null],
        'CN-MOFCOM-2025-62': [est, null],
        // L55 #34, L62 B1: 9 Nov 2026 is the last day, the rule returns on 10 Nov (00:00 EST).
        'US-BIS-AFFILIATES-RULE': ['2026-11-10T05:00:00.000Z', null],
        // L54 #33, L64 B1: ends on 27 Nov 2026 (00:00 Beijing).
        'CN-MOFCOM-2024-46-CLAUSE-2': ['2026-11-26T16:00:00.000Z', null],
        // L52 #31: continued one year from 10 Nov 2025 (a date only: 00:00 Beijing).
        'CN-UEL-2025-04-04': ['2026-11-09T16:00:00.000Z', null],
      });
    });

    it('the 24-point suspensions ended earlier as they stood in 2025: 90 days, then 90 more', async () => {
      const endOn = async (code: string, asOf: string) =>
        (await measureOn(code, asOf)).activeSuspension?.endsAt;
      // L32 #11, L33 #12, L34 #13: 90 days from 14 May, 00:01 EDT and 12:01 Beijing alike.
      expect(await endOn('US-RECIPROCAL-CN', '2025-06-01T12:00:00Z')).toBe(
        '2025-08-12T04:01:00.000Z',
      );
      expect(await endOn('CN-TC-2025-4', '2025-06-01T12:00:00Z')).toBe('2025-08-12T04:01:00.000Z');
      // L35 #14: to 00:01 EST on 10 Nov 2025. L36 #15: 90 more days from 12:01 on 12 Aug.
      expect(await endOn('US-RECIPROCAL-CN', '2025-09-01T12:00:00Z')).toBe(
        '2025-11-10T05:01:00.000Z',
      );
      expect(await endOn('CN-TC-2025-4', '2025-09-01T12:00:00Z')).toBe('2025-11-10T04:01:00.000Z');
    });

    it('the Affiliates Rule is suspended through 9 November 2026 and back in force on the 10th', async () => {
      // L55 #34, L62 B1.
      expect(await measureOn('US-BIS-AFFILIATES-RULE', '2025-11-09T12:00:00Z')).toMatchObject({
        status: 'in-force',
      });
      expect(await measureOn('US-BIS-AFFILIATES-RULE', '2026-11-10T04:59:59Z')).toMatchObject({
        status: 'suspended',
        activeSuspension: { endsAt: '2026-11-10T05:00:00.000Z' },
      });
      expect(await measureOn('US-BIS-AFFILIATES-RULE', '2026-11-10T05:00:00Z')).toMatchObject({
        status: 'in-force',
        activeSuspension: null,
      });
    });

    it('the 164 product and 14 equipment exclusions run through 29 Nov 2025, then to 10 Nov 2026', async () => {
      // L37 #16 (through 29 Nov: the end is 00:00 EST on 30 Nov), L58 #37 and L63 B1.
      const { exclusions } = await measureOn('US-301-CN', '2026-06-01T12:00:00Z');
      expect(
        exclusions.map(({ hsCodes, endsAt, extensions }) => ({ hsCodes, endsAt, extensions })),
      ).toEqual(
        ['9903.88.69', '9903.88.70'].map((heading) => ({
          hsCodes: [heading],
          endsAt: '2026-11-10T05:01:00.000Z',
          extensions: [
            expect.objectContaining({
              previousEndsAt: '2025-11-30T05:00:00.000Z',
              endsAt: '2026-11-10T05:01:00.000Z',
            }),
          ],
        })),
      );
    });
  });

  describe('what changed, in valid time', () => {
    it('the US reciprocal rate on China through the April escalation and Geneva', async () => {
      const response = await get('/api/v1/timeline', {
        party: 'CN',
        from: '2025-04-01',
        to: '2025-05-31',
        limit: '200',
      });
      expect(response.status).toBe(200);
      const steps = (
        response.body.items as Array<{
          type: string;
          effectiveAt: string;
          summary: string;
          measure: { code: string | null } | null;
        }>
      )
        .filter(
          (item) => item.measure?.code === 'US-RECIPROCAL-CN' && item.type === 'MeasureRateAmended',
        )
        .map((item) => [item.effectiveAt, item.summary]);
      // L28 #7, L30 #9, L33 #12: each at 00:01 EDT.
      expect(steps).toEqual([
        ['2025-04-09T04:01:00.000Z', 'US-RECIPROCAL-CN: rate set to 84%'],
        ['2025-04-10T04:01:00.000Z', 'US-RECIPROCAL-CN: rate set to 125%'],
        ['2025-05-14T04:01:00.000Z', 'US-RECIPROCAL-CN: rate set to 34%'],
      ]);
    });
  });
});
