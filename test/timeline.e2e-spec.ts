import { randomBytes } from 'node:crypto';
import { type ApiAndWorker, startApiAndWorker } from './support/api-and-worker';
import {
  keyHeader,
  postWrite,
  source as federalRegister,
  suffix,
  tick,
  usTariffBody,
} from './support/write-api';

const source = federalRegister('Executive order adjusting the duty');

interface TimelineItem {
  eventId: string;
  type: string;
  effectiveAt: string;
  summary: string;
  measure: { code: string | null } | null;
}

/**
 * The valid-time timeline against the measure's own status, where a later recording takes the
 * place of an earlier fact: a revocation brought forward, a revocation recorded after facts
 * dated past it, an end moved by an extension.
 */
describe('GET /api/v1/timeline where a later fact supersedes an earlier one', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let viewer: Record<string, string>;
  let editor: Record<string, string>;

  const read = (url: string, query: Record<string, string | number> = {}) =>
    app.http().get(url).query(query).set(viewer);
  const write = (url: string, body: Record<string, unknown>, status = 200) =>
    postWrite(() => app.http(), editor, url, body, status);

  /** A US duty on Chinese goods, in force from 2025 (no announcement on the timeline). */
  const usDuty = (code: string) =>
    write(
      '/api/v1/measures',
      usTariffBody(code, {
        rate: { type: 'ad-valorem', percent: 20 },
        announcedAt: undefined,
        effectiveAt: '2025-01-01T05:00:00Z',
        sources: [source],
      }),
      201,
    );

  /** The measure's facts on the timeline, as `<type> <effectiveAt>`. */
  const factsOf = async (code: string, query: Record<string, string | number> = {}) => {
    const response = await read('/api/v1/timeline', {
      from: '2024-01-01',
      to: '2030-01-01',
      party: 'CN',
      limit: 200,
      ...query,
    });
    expect(response.status).toBe(200);
    return (response.body.items as TimelineItem[])
      .filter((item) => item.measure?.code === code)
      .map((item) => `${item.type} ${item.effectiveAt}`);
  };

  /** An instant strictly between what was recorded before and what is recorded after. */
  const noteInstant = async () => {
    await tick();
    const instant = new Date().toISOString();
    await tick();
    return instant;
  };

  beforeAll(async () => {
    app = await startApiAndWorker('e2e_timeline', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
    });
    viewer = await keyHeader(() => app.http(), adminKey, 'viewer');
    editor = await keyHeader(() => app.http(), adminKey, 'editor');
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  describe('a revocation brought forward', () => {
    const code = `REVOKED-EARLIER-${suffix()}`;
    const LATER = '2026-09-01T04:00:00.000Z';
    const EARLIER = '2026-06-01T04:00:00.000Z';
    const instants = { first: '', both: '', retracted: '' };
    let earlier = { eventId: '', position: 0 };
    let position = 0;

    beforeAll(async () => {
      await usDuty(code);
      const revoke = (effectiveAt: string) =>
        write(`/api/v1/measures/${code}/revocation`, { effectiveAt, sources: [source] });
      await revoke(LATER);
      instants.first = await noteInstant();
      const written = await revoke(EARLIER);
      earlier = { eventId: written.eventIds[0], position: written.position };
      instants.both = await noteInstant();
      position = earlier.position;
    });

    /** When the measure ends, as its status says, as known at `knownAt` (now if absent). */
    const revokedAt = async (knownAt?: string) => {
      const response = await read(`/api/v1/measures/${code}`, {
        minPosition: position,
        ...(knownAt ? { knownAt } : {}),
      });
      expect(response.status).toBe(200);
      return response.body.revokedAt as string | null;
    };
    const revocations = async (knownAt?: string) =>
      (await factsOf(code, { minPosition: position, ...(knownAt ? { knownAt } : {}) })).filter(
        (fact) => fact.startsWith('MeasureRevoked'),
      );

    it('shows the measure revoked once, at the date it now ends, as its status does', async () => {
      expect(await revokedAt()).toBe(EARLIER);
      expect(await revocations()).toEqual([`MeasureRevoked ${EARLIER}`]);
      expect(await revocations(instants.both)).toEqual([`MeasureRevoked ${EARLIER}`]);
      // The status on a date between the two: revoked, as the timeline says.
      const between = await read(`/api/v1/measures/${code}`, { asOf: '2026-07-01T00:00:00Z' });
      expect(between.body.status).toBe('revoked');
    });

    it('shows the first revocation at its date as known before the second was recorded', async () => {
      expect(await revokedAt(instants.first)).toBe(LATER);
      expect(await revocations(instants.first)).toEqual([`MeasureRevoked ${LATER}`]);
      const between = await read(`/api/v1/measures/${code}`, {
        asOf: '2026-07-01T00:00:00Z',
        knownAt: instants.first,
      });
      expect(between.body.status).toBe('in-force');
    });

    it('shows the later revocation again once the earlier one is retracted', async () => {
      await tick();
      const retraction = await write(`/api/v1/measures/${code}/retractions`, {
        eventId: earlier.eventId,
        reason: 'The earlier date was misread',
        sources: [source],
      });
      position = retraction.position;
      instants.retracted = await noteInstant();

      expect(await revokedAt()).toBe(LATER);
      expect(await revocations()).toEqual([`MeasureRevoked ${LATER}`]);
      // Each instant of transaction time answers as the status then did.
      for (const knownAt of [instants.first, instants.both, instants.retracted]) {
        const expected = await revokedAt(knownAt);
        expect(await revocations(knownAt)).toEqual([`MeasureRevoked ${expected}`]);
      }
    });
  });

  /**
   * The US duties on Mexico (2019): announced with effect later, withdrawn before they took
   * effect. Here the facts dated after the withdrawal were recorded before it, as the decider
   * takes them while no revocation is on record; recorded after it, it refuses them.
   */
  describe('a measure revoked before it takes effect', () => {
    const code = `WITHDRAWN-${suffix()}`;
    const REVOKED = '2026-06-01T04:00:00.000Z';
    const instants = { before: '', revoked: '', retracted: '' };
    let revocation = { eventId: '', position: 0 };
    let position = 0;
    /** The measure's facts as recorded before the revocation, by the date they take effect. */
    const ALL = [
      'MeasureAnnounced 2026-05-01T04:00:00.000Z',
      'SuspensionStarted 2026-05-15T04:00:00.000Z',
      'SuspensionExtended 2026-06-15T04:00:00.000Z',
      'MeasureImplemented 2026-07-01T04:00:00.000Z',
      'SuspensionStarted 2026-07-15T04:00:00.000Z',
      'MeasureRateAmended 2026-08-01T04:00:00.000Z',
      'ExclusionGranted 2026-08-01T04:00:00.000Z',
      'PartyClaimRecorded 2026-08-01T04:00:00.000Z',
    ];
    /** What the revocation leaves: what came before it, itself, and the claim it does not end. */
    const REVOKED_VIEW = [
      'MeasureAnnounced 2026-05-01T04:00:00.000Z',
      'SuspensionStarted 2026-05-15T04:00:00.000Z',
      `MeasureRevoked ${REVOKED}`,
      'PartyClaimRecorded 2026-08-01T04:00:00.000Z',
    ];

    beforeAll(async () => {
      const measure = `/api/v1/measures/${code}`;
      await write(
        '/api/v1/measures',
        {
          code,
          title: `Test duty on products of China (${code})`,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          rate: { type: 'ad-valorem', percent: 25 },
          timeZone: 'America/New_York',
          announcedAt: '2026-05-01T04:00:00Z',
          effectiveAt: '2026-07-01T04:00:00Z',
          sources: [source],
        },
        201,
      );
      // A suspension from before the revocation, extended after it; one that starts after it.
      const early = await write(
        `${measure}/suspensions`,
        {
          startsAt: '2026-05-15T04:00:00Z',
          endsAt: '2026-09-01T04:00:00Z',
          part: { percentPoints: 10 },
          sources: [source],
        },
        201,
      );
      await write(`${measure}/suspensions/${early.suspensionId}/extensions`, {
        endsAt: '2026-12-01T05:00:00Z',
        effectiveAt: '2026-06-15T04:00:00Z',
        sources: [source],
      });
      await write(
        `${measure}/suspensions`,
        {
          startsAt: '2026-07-15T04:00:00Z',
          endsAt: '2026-10-01T04:00:00Z',
          part: { percentPoints: 5 },
          sources: [source],
        },
        201,
      );
      await write(`${measure}/amendments`, {
        rate: { type: 'ad-valorem', percent: 30 },
        effectiveAt: '2026-08-01T04:00:00Z',
        sources: [source],
      });
      await write(
        `${measure}/exclusions`,
        {
          description: 'Auto parts',
          effectiveAt: '2026-08-01T04:00:00Z',
          sources: [source],
        },
        201,
      );
      await write(
        `${measure}/claims`,
        {
          party: 'MX',
          statement: 'The duties were never lawful',
          effectiveAt: '2026-08-01T04:00:00Z',
          sources: [source],
        },
        201,
      );
      instants.before = await noteInstant();
      const written = await write(`${measure}/revocation`, {
        effectiveAt: REVOKED,
        sources: [source],
      });
      revocation = { eventId: written.eventIds[0], position: written.position };
      position = revocation.position;
      instants.revoked = await noteInstant();
    });

    const facts = (knownAt?: string) =>
      factsOf(code, { minPosition: position, ...(knownAt ? { knownAt } : {}) });
    const statusOn = async (asOf: string, knownAt?: string) => {
      const response = await read(`/api/v1/measures/${code}`, {
        asOf,
        minPosition: position,
        ...(knownAt ? { knownAt } : {}),
      });
      expect(response.status).toBe(200);
      const body = response.body as {
        status: string;
        rate: { percent: number } | null;
        suspensions: Array<{ onAsOf: { state: string } }>;
      };
      return {
        status: body.status,
        rate: body.rate?.percent ?? null,
        suspensions: body.suspensions.map((s) => s.onAsOf.state),
      };
    };

    it('does not show it taking effect, nor what would have come after the revocation', async () => {
      expect(await facts()).toEqual(REVOKED_VIEW);
      expect(await facts(instants.revoked)).toEqual(REVOKED_VIEW);
      // The start keeps the end it was recorded with, past the revocation: that is what it
      // said; the revocation, after it on the timeline, says the measure ended before.
      const page = await read('/api/v1/timeline', {
        from: '2026-05-15',
        to: '2026-05-16',
        party: 'CN',
        minPosition: position,
      });
      expect(
        (page.body.items as TimelineItem[])
          .filter((item) => item.measure?.code === code)
          .map((item) => item.summary),
      ).toEqual([`${code}: 10 points suspended until 2026-09-01`]);
      // The status agrees on every date after the revocation: nothing took effect, nothing
      // was suspended, whatever was recorded for those dates before the revocation.
      for (const asOf of ['2026-06-20T00:00:00Z', '2026-07-20T00:00:00Z', '2026-08-20T00:00:00Z']) {
        expect(await statusOn(asOf)).toEqual({
          status: 'revoked',
          rate: null,
          suspensions: expect.not.arrayContaining(['in-effect']),
        });
      }
      // Before it, the measure was announced, and part of it suspended ahead of its entry into
      // force, as the timeline says.
      expect(await statusOn('2026-05-20T00:00:00Z')).toEqual({
        status: 'announced',
        rate: null,
        suspensions: ['in-effect', 'not-started'],
      });
    });

    it('shows it taking effect as known before the revocation was recorded', async () => {
      expect(await facts(instants.before)).toEqual(ALL);
      expect(await statusOn('2026-08-20T00:00:00Z', instants.before)).toEqual({
        status: 'partially-suspended',
        rate: 15,
        suspensions: ['in-effect', 'in-effect'],
      });
    });

    it('shows it taking effect again once the revocation is retracted', async () => {
      await tick();
      const retraction = await write(`/api/v1/measures/${code}/retractions`, {
        eventId: revocation.eventId,
        reason: 'The withdrawal was not adopted',
        sources: [source],
      });
      position = retraction.position;
      instants.retracted = await noteInstant();

      expect(await facts()).toEqual(ALL);
      expect(await statusOn('2026-08-20T00:00:00Z')).toMatchObject({
        status: 'partially-suspended',
        rate: 15,
      });
      // Each instant of transaction time answers as it did then.
      expect(await facts(instants.before)).toEqual(ALL);
      expect(await facts(instants.revoked)).toEqual(REVOKED_VIEW);
      expect(await facts(instants.retracted)).toEqual(ALL);
    });
  });

  describe('a suspension whose end an extension moved', () => {
    it('shows the start and the extension, and no end at the end it moved', async () => {
      const code = `EXTENDED-${suffix()}`;
      await usDuty(code);
      const suspension = await write(
        `/api/v1/measures/${code}/suspensions`,
        {
          startsAt: '2027-01-01T05:00:00Z',
          endsAt: '2027-06-01T04:00:00Z',
          part: { percentPoints: 10 },
          sources: [source],
        },
        201,
      );
      const extension = await write(
        `/api/v1/measures/${code}/suspensions/${suspension.suspensionId}/extensions`,
        {
          endsAt: '2027-09-01T04:00:00Z',
          effectiveAt: '2027-05-01T04:00:00Z',
          sources: [source],
        },
      );
      const response = await read('/api/v1/timeline', {
        from: '2027-01-01',
        to: '2028-01-01',
        party: 'CN',
        limit: 200,
        minPosition: extension.position,
      });
      const items = (response.body.items as TimelineItem[]).filter(
        (item) => item.measure?.code === code,
      );
      // The start keeps the end it was recorded with: that is what it said then; the extension
      // says where the end went. An end is a fact only once it comes (a lapse, at the last end).
      expect(items.map((item) => [item.type, item.effectiveAt, item.summary])).toEqual([
        [
          'SuspensionStarted',
          '2027-01-01T05:00:00.000Z',
          `${code}: 10 points suspended until 2027-06-01`,
        ],
        [
          'SuspensionExtended',
          '2027-05-01T04:00:00.000Z',
          `${code}: suspension of 10 points extended to 2027-09-01`,
        ],
      ]);
    });
  });
});
