import { eventually } from '@app/testing';
import { parse } from 'csv-parse/sync';
import ICAL from 'ical.js';
import { SEEDED_SETUP_TIMEOUT_MS, startSeededApi, type SeededApi } from './support/seeded-api';
import {
  bearer,
  PROBLEM_JSON,
  source,
  suffix,
  usTariffBody,
  type ApiKeyCreated,
  type WriteApiHarness,
} from './support/write-api';

interface Expiry {
  suspensionId: string;
  endsAt: string;
  state: string;
  part: { percentPoints: number } | null;
  measure: { id: string; code: string | null; title: string };
}

interface TimelineItem {
  type: string;
  effectiveAt: string;
  parties: string[];
  summary: string;
  measure: { code: string | null } | null;
}

interface TariffLine {
  code: string | null;
  fullRate: { percent: number } | null;
  rateInForce: { percent: number } | null;
  suspendedPart: { percentPoints: number } | null;
  activeSuspension: { endsAt: string | null } | null;
}

/** The VEVENTs of a feed as ical.js reads them. */
function eventsOf(feed: string) {
  const calendar = new ICAL.Component(ICAL.parse(feed));
  return calendar.getAllSubcomponents('vevent').map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      summary: event.summary,
      description: event.description,
      start: event.startDate.toJSDate().toISOString(),
      startIsUtc: event.startDate.zone?.tzid === 'UTC',
      sequence: event.sequence,
      status: String(vevent.getFirstPropertyValue('status')),
      stamp: String(vevent.getFirstPropertyValue('dtstamp')),
    };
  });
}

describe('read models over HTTP on the bundled dataset, end to end', () => {
  let api: WriteApiHarness;
  let seeded: SeededApi;
  let viewer: ApiKeyCreated;
  let editor: ApiKeyCreated;

  const get = (path: string, key = viewer.key) => api.http().get(path).set(bearer(key));

  /** Every page of a list, following `nextCursor`. */
  async function allPages<T>(path: string, limit: number): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const separator = path.includes('?') ? '&' : '?';
      const url = `${path}${separator}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await get(url).expect(200);
      items.push(...(response.body.items as T[]));
      cursor = response.body.nextCursor as string | null;
    } while (cursor);
    return items;
  }

  beforeAll(async () => {
    seeded = await startSeededApi('read-models');
    api = seeded.api;
    viewer = await api.createKey('viewer');
    editor = await api.createKey('editor');
  }, SEEDED_SETUP_TIMEOUT_MS);

  afterAll(async () => {
    await seeded?.close();
  });

  describe('GET /api/v1/expiries', () => {
    it('lists the suspension ends of November 2026, soonest first', async () => {
      const response = await get('/api/v1/expiries?from=2026-11-01&to=2026-11-30&limit=200');
      expect(response.status).toBe(200);
      const items = response.body.items as Expiry[];
      expect(response.body.nextCursor).toBeNull();
      const ends = items.map((item) => item.endsAt);
      expect(ends).toEqual([...ends].sort());
      expect(ends.every((end) => end >= '2026-11-01' && end < '2026-12-01')).toBe(true);

      expect(items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            endsAt: '2026-11-10T05:01:00.000Z',
            part: { percentPoints: 24 },
            measure: expect.objectContaining({ code: 'US-RECIPROCAL-CN' }),
          }),
        ]),
      );
      // Ann. No. 46 clause 2: suspended until 27 November 2026, Beijing time.
      const gallium = items.find((item) => item.measure.code === 'CN-MOFCOM-2024-46-CLAUSE-2');
      expect(gallium).toMatchObject({ endsAt: '2026-11-26T16:00:00.000Z' });
      // Active, or lapsed once the worker has recorded that its end passed.
      expect(['active', 'lapsed']).toContain(gallium?.state);

      // Page by page, the same ends in the same order (the worker may record a lapse meanwhile).
      const paged = await allPages<Expiry>('/api/v1/expiries?from=2026-11-01&to=2026-11-30', 2);
      const key = (item: Expiry) => `${item.endsAt} ${item.suspensionId}`;
      expect(paged.map(key)).toEqual(items.map(key));
    });

    it('answers as known at knownAt: later extensions do not move an end, retractions count from their recording', async () => {
      const post = (path: string, body: object) =>
        api.http().post(path).set(bearer(editor.key)).send(body);
      const pause = () => new Promise((resolve) => setTimeout(resolve, 15));
      const code = `E2E-KNOWN-${suffix()}`;
      const created = await post('/api/v1/measures', usTariffBody(code)).expect(201);
      const measureId = created.body.id as string;
      const scheduled = await post(`/api/v1/measures/${code}/suspensions`, {
        startsAt: '2026-01-01T05:00:00Z',
        endsAt: '2042-01-01T05:00:00Z',
        part: { percentPoints: 20 },
        sources: [source('Suspension of 20 points')],
      }).expect(201);
      const suspensionId = scheduled.body.suspensionId as string;
      await pause();
      const extended = await post(
        `/api/v1/measures/${measureId}/suspensions/${suspensionId}/extensions`,
        { endsAt: '2043-01-01T05:00:00Z', sources: [source('Extension of the suspension')] },
      ).expect(200);
      await pause();
      const retracted = await post(`/api/v1/measures/${measureId}/retractions`, {
        eventId: extended.body.eventIds[0],
        reason: 'The extension was misread',
        sources: [source('Correction')],
      }).expect(200);
      await pause();
      // A later fact that changes no suspension: as known just before it, the measure is
      // folded from the log, and must read as its stored row does now.
      const amended = await post(`/api/v1/measures/${measureId}/amendments`, {
        rate: { type: 'ad-valorem', percent: 40 },
        effectiveAt: '2026-02-01T05:00:00Z',
        sources: [source('Rate amendment')],
      }).expect(200);

      const history = await get(`/api/v1/measures/${measureId}/events`).expect(200);
      const recordedAt = (eventId: string) =>
        (history.body.items as Array<{ eventId: string; recordedAt: string }>).find(
          (event) => event.eventId === eventId,
        )?.recordedAt as string;
      const ours = async (knownAt?: string) => {
        const response = await get(
          `/api/v1/expiries?from=2041-01-01&to=2045-01-01&limit=200&minPosition=${amended.body.position as number}` +
            (knownAt ? `&knownAt=${knownAt}` : ''),
        ).expect(200);
        const items = response.body.items as Array<Expiry & { revision: number }>;
        return items.filter((item) => item.suspensionId === suspensionId);
      };

      // Scheduled, then extended, then the extension retracted, then the rate amended: the
      // revision (the iCalendar SEQUENCE) is the measure's version as known then, so it grows
      // with each of them and never goes back.
      const scheduledThen = await ours(recordedAt(scheduled.body.eventIds[0] as string));
      expect(scheduledThen).toEqual([
        expect.objectContaining({
          endsAt: '2042-01-01T05:00:00.000Z',
          extensions: 0,
          revision: scheduled.body.version,
        }),
      ]);
      const now = await ours();
      expect(now).toEqual([
        expect.objectContaining({
          endsAt: '2042-01-01T05:00:00.000Z',
          extensions: 0,
          revision: amended.body.version,
        }),
      ]);

      // Yesterday the tracker had not heard of it (nor of the dataset, imported today).
      const yesterday = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
      const known = await get(
        `/api/v1/expiries?from=2020-01-01&limit=200&knownAt=${yesterday}`,
      ).expect(200);
      expect(known.body).toEqual({ items: [], nextCursor: null });

      // Extended, the retraction not yet recorded: the extension counts.
      expect(await ours(recordedAt(extended.body.eventIds[0] as string))).toEqual([
        expect.objectContaining({
          endsAt: '2043-01-01T05:00:00.000Z',
          extensions: 1,
          revision: extended.body.version,
        }),
      ]);
      // From the retraction on, it does not.
      const afterRetraction = await ours(recordedAt(retracted.body.eventIds[0] as string));
      expect(afterRetraction).toEqual([
        expect.objectContaining({
          endsAt: '2042-01-01T05:00:00.000Z',
          extensions: 0,
          revision: retracted.body.version,
        }),
      ]);
      // Folded from the log as known once the amendment was in, it reads as the stored row.
      expect(await ours(recordedAt(amended.body.eventIds[0] as string))).toEqual(now);

      // Stored rows (the dataset's) and folded ones (this measure's) page together in order.
      const knownAt = recordedAt(retracted.body.eventIds[0] as string);
      const window = `/api/v1/expiries?from=2026-11-01&knownAt=${knownAt}`;
      const whole = (await get(`${window}&limit=200`).expect(200)).body.items as Expiry[];
      expect(whole.map((item) => item.suspensionId)).toContain(suspensionId);
      expect(whole.length).toBeGreaterThan(3);
      const key = (item: Expiry) => `${item.endsAt} ${item.suspensionId}`;
      expect(whole.map(key)).toEqual([...whole.map(key)].sort());
      expect(await allPages<Expiry>(window, 2)).toEqual(whole);
    });

    it('refuses knownAt that is not an instant', async () => {
      const response = await get('/api/v1/expiries?knownAt=yesterday');
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        code: 'validation-failed',
        errors: [expect.objectContaining({ field: 'knownAt' })],
      });
    });

    it('needs a key, and refuses a cursor it did not hand out', async () => {
      const anonymous = await api.http().get('/api/v1/expiries');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers['content-type']).toMatch(PROBLEM_JSON);
      const forged = await get('/api/v1/expiries?cursor=not-a-cursor');
      expect(forged.status).toBe(400);
      expect(forged.body).toMatchObject({
        code: 'validation-failed',
        errors: [{ field: 'cursor' }],
      });
    });
  });

  describe('GET /api/v1/timeline', () => {
    it('shows what changed for CN in November 2025, in order of effect', async () => {
      const items = await allPages<TimelineItem>(
        '/api/v1/timeline?party=CN&from=2025-11-01&to=2025-11-30',
        50,
      );
      const dates = items.map((item) => item.effectiveAt);
      expect(dates).toEqual([...dates].sort());
      expect(items.every((item) => item.parties.includes('CN'))).toBe(true);
      expect(items).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            type: 'SuspensionStarted',
            effectiveAt: '2025-11-10T05:01:00.000Z',
            measure: expect.objectContaining({ code: 'CN-MOT-2025-54' }),
            summary: 'CN-MOT-2025-54: measure suspended until 2026-11-10',
          }),
          expect.objectContaining({
            type: 'MeasureRateAmended',
            measure: expect.objectContaining({ code: 'US-IEEPA-FENTANYL-CN' }),
          }),
        ]),
      );
      expect(dates.every((date) => date >= '2025-11-01' && date < '2025-12-01')).toBe(true);
    });

    it('shows Hong Kong what changed in the duties whose scope includes it', async () => {
      const items = await allPages<TimelineItem>('/api/v1/timeline?party=HK', 50);
      const codes = new Set(items.map((item) => item.measure?.code));
      expect([...codes]).toEqual(['US-IEEPA-FENTANYL-CN']);
      expect(items.map((item) => item.type)).toContain('MeasureRateAmended');
    });
  });

  describe('GET /api/v1/tariffs/summary', () => {
    it('gives US duties on China on 1 June 2026: 34% reciprocal with 24 suspended, 10% fentanyl', async () => {
      const response = await get(
        '/api/v1/tariffs/summary?imposingParty=US&targetParty=CN&asOf=2026-06-01T00:00:00Z',
      );
      expect(response.status).toBe(200);
      const economyWide = response.body.economyWide as {
        measures: TariffLine[];
        total: { fullPercent: number; inForcePercent: number; suspendedPercent: number };
      };
      const byCode = new Map(economyWide.measures.map((line) => [line.code, line]));
      expect([...byCode.keys()].sort()).toEqual(['US-IEEPA-FENTANYL-CN', 'US-RECIPROCAL-CN']);
      expect(byCode.get('US-RECIPROCAL-CN')).toMatchObject({
        fullRate: { percent: 34 },
        rateInForce: { percent: 10 },
        suspendedPart: { percentPoints: 24 },
        activeSuspension: { endsAt: '2026-11-10T05:01:00.000Z' },
      });
      expect(byCode.get('US-IEEPA-FENTANYL-CN')).toMatchObject({
        fullRate: { percent: 10 },
        rateInForce: { percent: 10 },
        suspendedPart: null,
      });
      expect(economyWide.total).toMatchObject({
        fullPercent: 44,
        inForcePercent: 20,
        suspendedPercent: 24,
      });
      const productSpecific = response.body.productSpecific.measures as TariffLine[];
      expect(productSpecific.map((line) => line.code)).toContain('US-301-CN');
      expect(productSpecific.map((line) => line.code)).not.toContain('US-THREAT-100-CN');
    });

    it('counts for Hong Kong the duties whose scope includes it', async () => {
      // The fentanyl duty targets China and, by its scope, Hong Kong's goods too.
      const response = await get(
        '/api/v1/tariffs/summary?imposingParty=US&targetParty=HK&asOf=2026-06-01T00:00:00Z',
      );
      expect(response.status).toBe(200);
      expect(response.body.economyWide).toMatchObject({
        measures: [{ code: 'US-IEEPA-FENTANYL-CN', rateInForce: { percent: 10 } }],
        total: { inForcePercent: 10 },
      });
      expect(response.body.economyWide.measures).toHaveLength(1);
      const listed = await get('/api/v1/measures?targetParty=HK&limit=200');
      expect(listed.status).toBe(200);
      expect(listed.body.items.map((item: { code: string }) => item.code)).toEqual([
        'US-IEEPA-FENTANYL-CN',
      ]);
    });

    it('separates China’s economy-wide tariff from its product lists', async () => {
      const response = await get(
        '/api/v1/tariffs/summary?imposingParty=CN&targetParty=US&asOf=2025-06-01T00:00:00Z',
      );
      expect(response.status).toBe(200);
      expect(response.body.economyWide.measures).toEqual([
        expect.objectContaining({
          code: 'CN-TC-2025-4',
          rateInForce: { type: 'ad-valorem', percent: 10 },
          suspendedPart: { percentPoints: 24 },
        }),
      ]);
      expect(response.body.economyWide.total.inForcePercent).toBe(10);
      expect(
        (response.body.productSpecific.measures as TariffLine[]).map((line) => line.code),
      ).toContain('CN-TC-2025-2-15PCT');
    });

    it('answers as known at a past knownAt: before the import, nothing was known', async () => {
      const response = await get(
        '/api/v1/tariffs/summary?imposingParty=US&targetParty=CN&asOf=2026-06-01T00:00:00Z&knownAt=2020-01-01T00:00:00Z',
      );
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        knownAt: '2020-01-01T00:00:00.000Z',
        economyWide: { measures: [], total: { inForcePercent: 0 } },
        productSpecific: { measures: [] },
      });
    });

    it('requires both parties', async () => {
      const response = await get('/api/v1/tariffs/summary?imposingParty=US');
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([expect.objectContaining({ field: 'targetParty' })]);
    });
  });

  describe('GET /api/v1/measures.csv', () => {
    it('exports one row per measure of the list view, every page, quoted by RFC 4180', async () => {
      const response = await get('/api/v1/measures.csv?asOf=2026-06-01T00:00:00Z');
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/csv/);
      expect(response.text).toContain('\r\n');
      const rows = parse<Record<string, string>>(response.text, { columns: true });
      const listed = await allPages<{ id: string }>(
        '/api/v1/measures?asOf=2026-06-01T00:00:00Z',
        200,
      );
      expect(rows.map((row) => row.id).sort()).toEqual(listed.map((item) => item.id).sort());
      expect(new Set(rows.map((row) => row.id)).size).toBe(rows.length);
      expect(rows.find((row) => row.code === 'US-RECIPROCAL-CN')).toMatchObject({
        title: 'US reciprocal tariff on products of China',
        status: 'partially-suspended',
        rate: '10%',
        fullRate: '34%',
        suspendedPoints: '24',
        activeSuspensionEndsAt: '2026-11-10T05:01:00.000Z',
        targetParties: 'CN',
      });
      // Titles with commas and quotes survive the round trip.
      expect(rows.some((row) => row.title.includes(','))).toBe(true);
    });

    it('applies the list filters', async () => {
      const response = await get('/api/v1/measures.csv?imposingParty=CN&kind=tariff');
      const rows = parse<Record<string, string>>(response.text, { columns: true });
      expect(rows.length).toBeGreaterThan(2);
      expect(rows.every((row) => row.imposingParty === 'CN' && row.kind === 'tariff')).toBe(true);
    });
  });

  describe('GET /api/v1/expiries.ics', () => {
    let feedPath: string;

    beforeAll(async () => {
      const response = await get('/api/v1/api-keys/me/feed-token').expect(200);
      expect(response.body).toMatchObject({
        keyId: viewer.id,
        feedToken: expect.any(String),
        url: expect.stringMatching(/^http:\/\/[^/]+\/api\/v1\/expiries\.ics\?token=/),
      });
      feedPath = `${response.body.path as string}&from=2025-01-01`;
    });

    it('is an RFC 5545 calendar with one event per suspension end and stable UIDs', async () => {
      const first = await api.http().get(feedPath);
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toMatch(/^text\/calendar/);
      const feed = first.text;
      expect(feed.startsWith('BEGIN:VCALENDAR\r\n')).toBe(true);
      expect(feed.endsWith('END:VCALENDAR\r\n')).toBe(true);
      const lines = feed.split('\r\n');
      expect(lines.every((line) => !line.includes('\n') && !line.includes('\r'))).toBe(true);
      expect(lines.every((line) => Buffer.byteLength(line, 'utf8') <= 75)).toBe(true);

      const events = eventsOf(feed);
      const expiries = await allPages<Expiry>('/api/v1/expiries?from=2025-01-01', 200);
      expect(events.map((event) => event.uid).sort()).toEqual(
        expiries.map((expiry) => `${expiry.suspensionId}@accord`).sort(),
      );
      const reciprocal = expiries.find((expiry) => expiry.measure.code === 'US-RECIPROCAL-CN');
      const event = events.find(
        (candidate) => candidate.uid === `${reciprocal?.suspensionId}@accord`,
      );
      expect(event).toMatchObject({
        start: '2026-11-10T05:01:00.000Z',
        startIsUtc: true,
        status: 'CONFIRMED',
        summary: expect.stringContaining('US-RECIPROCAL-CN'),
      });
      expect(event?.summary).toContain('US reciprocal tariff on products of China');
      expect(event?.description).toContain('24 percentage points');
      expect(event?.sequence).toEqual(expect.any(Number));

      const second = eventsOf((await api.http().get(feedPath).expect(200)).text);
      expect(second.map((again) => [again.uid, again.start])).toEqual(
        events.map((once) => [once.uid, once.start]),
      );
    });

    it('moves the event and raises its SEQUENCE when the end is extended', async () => {
      // A measure of this test's own: the dataset's suspensions may have ended by the time
      // this runs, and an ended one cannot be extended.
      const code = `E2E-ICS-${suffix()}`;
      const created = await api
        .http()
        .post('/api/v1/measures')
        .set(bearer(editor.key))
        .send(usTariffBody(code))
        .expect(201);
      const scheduled = await api
        .http()
        .post(`/api/v1/measures/${code}/suspensions`)
        .set(bearer(editor.key))
        .send({
          startsAt: '2026-01-01T05:00:00Z',
          endsAt: '2040-01-01T05:00:00Z',
          part: { percentPoints: 20 },
          sources: [source('Suspension of 20 points')],
        })
        .expect(201);
      const uid = `${scheduled.body.suspensionId as string}@accord`;
      const before = await eventually(
        async () => {
          const events = eventsOf((await api.http().get(feedPath).expect(200)).text);
          expect(events.find((event) => event.uid === uid)?.start).toBe('2040-01-01T05:00:00.000Z');
          return events;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      expect(before.find((event) => event.uid === uid)?.summary).toContain(code);

      await api
        .http()
        .post(
          `/api/v1/measures/${created.body.id as string}/suspensions/${scheduled.body.suspensionId as string}/extensions`,
        )
        .set(bearer(editor.key))
        .send({ endsAt: '2041-01-01T05:00:00Z', sources: [source('Extension of the suspension')] })
        .expect(200);
      const after = await eventually(
        async () => {
          const events = eventsOf((await api.http().get(feedPath).expect(200)).text);
          expect(events.find((event) => event.uid === uid)?.start).toBe('2041-01-01T05:00:00.000Z');
          return events;
        },
        { timeoutMs: 15_000, intervalMs: 100 },
      );
      const was = before.find((event) => event.uid === uid);
      const now = after.find((event) => event.uid === uid);
      expect(now?.sequence).toBeGreaterThan(was?.sequence ?? Infinity);
      // DTSTAMP is when the suspension last changed (to the second).
      expect(String(now?.stamp) >= String(was?.stamp)).toBe(true);
      // The same events, one moved: a client updates it instead of adding another.
      expect(after.map((event) => event.uid).sort()).toEqual(
        before.map((event) => event.uid).sort(),
      );
    });

    it('refuses a wrong or missing token with a 401 problem', async () => {
      for (const path of ['/api/v1/expiries.ics?token=wrong', '/api/v1/expiries.ics']) {
        const response = await api.http().get(path);
        expect(response.status).toBe(401);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(response.body).toMatchObject({ code: 'unauthenticated' });
      }
      // An API key is not a feed token.
      const withKey = await api.http().get(`/api/v1/expiries.ics?token=${viewer.key}`);
      expect(withKey.status).toBe(401);
    });
  });
});
