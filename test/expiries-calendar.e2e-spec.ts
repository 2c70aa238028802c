import { randomBytes } from 'node:crypto';
import ICAL from 'ical.js';
import { type ApiAndWorker, startApiAndWorker } from './support/api-and-worker';
import { keyHeader, postWrite, suffix, tick } from './support/write-api';

const source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order suspending part of the duty',
  documentNumber: 'EO 99996',
  official: true,
  language: 'en',
};

interface CalendarEvent {
  uid: string;
  summary: string;
  description: string;
  start: string;
  sequence: number;
  status: string;
  stamp: string;
}

/** The VEVENTs of a feed as ical.js reads them, by UID. */
function eventsOf(feed: string): Map<string, CalendarEvent> {
  const calendar = new ICAL.Component(ICAL.parse(feed));
  return new Map(
    calendar.getAllSubcomponents('vevent').map((vevent) => {
      const event = new ICAL.Event(vevent);
      return [
        event.uid,
        {
          uid: event.uid,
          summary: event.summary,
          description: event.description,
          start: event.startDate.toJSDate().toISOString(),
          sequence: event.sequence,
          status: String(vevent.getFirstPropertyValue('status')),
          stamp: vevent.getFirstPropertyValue('dtstamp')?.toString() ?? '',
        },
      ];
    }),
  );
}

/**
 * The .ics feed of suspension ends against what a subscribed calendar client already merged: an
 * end that stops existing (its scheduling or its measure retracted, its measure revoked before
 * it) must come back as the same UID, CANCELLED with a higher SEQUENCE, or the client keeps the
 * event forever. `/api/v1/expiries` goes on leaving such ends out, as it leaves lifted ones.
 */
describe('the iCalendar feed of suspension ends when an end stops existing', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let app: ApiAndWorker;
  let viewer: Record<string, string>;
  let editor: Record<string, string>;
  let feedPath: string;

  const write = (url: string, body: Record<string, unknown>, status = 200) =>
    postWrite(() => app.http(), editor, url, body, status);
  const createKey = (role: 'viewer' | 'editor') => keyHeader(() => app.http(), adminKey, role);

  /** A US duty in force from 2025, recorded by one event (its implementation). */
  const usDuty = (code: string) =>
    write(
      '/api/v1/measures',
      {
        code,
        title: `Test duty on products of China (${code})`,
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 20 },
        timeZone: 'America/New_York',
        effectiveAt: '2025-01-01T05:00:00Z',
        sources: [source],
      },
      201,
    );

  const suspend = (code: string, endsAt: string) =>
    write(
      `/api/v1/measures/${code}/suspensions`,
      { startsAt: '2026-01-01T05:00:00Z', endsAt, sources: [source] },
      201,
    );

  const retract = (code: string, eventId: string, reason: string) =>
    write(`/api/v1/measures/${code}/retractions`, { eventId, reason, sources: [source] });

  /**
   * The suspension ids `/api/v1/expiries` lists from 2026, once the projection has passed
   * `minPosition` (the feed reads the same rows, so it has too).
   */
  async function expiryIds(minPosition: number, query: Record<string, string> = {}) {
    const response = await app
      .http()
      .get('/api/v1/expiries')
      .query({ from: '2026-01-01', limit: 200, minPosition, ...query })
      .set(viewer);
    expect(response.status).toBe(200);
    return (response.body.items as Array<{ suspensionId: string }>).map(
      (item) => item.suspensionId,
    );
  }

  async function feed(): Promise<Map<string, CalendarEvent>> {
    const response = await app.http().get(feedPath);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/calendar/);
    return eventsOf(response.text);
  }

  beforeAll(async () => {
    app = await startApiAndWorker('e2e_expiries_calendar', {
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
    });
    viewer = await createKey('viewer');
    editor = await createKey('editor');
    const token = await app.http().get('/api/v1/api-keys/me/feed-token').set(viewer).expect(200);
    feedPath = `${token.body.path as string}&from=2026-01-01`;
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('links each event to its measure by an absolute URL on the host the feed was read from', async () => {
    const code = `ICS-LINK-${suffix()}`;
    await usDuty(code);
    const scheduled = await suspend(code, '2043-01-01T05:00:00Z');
    expect(await expiryIds(scheduled.position)).toContain(scheduled.suspensionId);
    const host = 'accord.example.test:8443';
    const token = await app
      .http()
      .get('/api/v1/api-keys/me/feed-token')
      .set(viewer)
      .set('host', host)
      .expect(200);
    const response = await app.http().get(feedPath).set('host', host).expect(200);
    // The UID stays the suspension's: a client merges the event it already has.
    const event = eventsOf(response.text).get(`${scheduled.suspensionId}@accord`);
    const link = `http://${host}/api/v1/measures/${code}`;
    expect(event?.description.split('\n').at(-1)).toBe(`Measure: ${link}`);
    // The same origin as the feed URL the token answer gives.
    expect(token.body.url).toBe(`http://${host}${token.body.path as string}`);
  });

  it('cancels the event of a retracted scheduling, and confirms it again when that retraction is retracted', async () => {
    const code = `ICS-RETRACT-${suffix()}`;
    await usDuty(code);
    const scheduled = await suspend(code, '2040-01-01T05:00:00Z');
    const uid = `${scheduled.suspensionId}@accord`;
    expect(await expiryIds(scheduled.position)).toContain(scheduled.suspensionId);
    const merged = (await feed()).get(uid);
    expect(merged).toMatchObject({ status: 'CONFIRMED', start: '2040-01-01T05:00:00.000Z' });

    const knownBefore = new Date().toISOString();
    await tick();
    const withdrawal = await retract(code, scheduled.eventIds[0], 'The order was never signed');
    expect(await expiryIds(withdrawal.position)).not.toContain(scheduled.suspensionId);
    // As known before the retraction, the end still stood.
    expect(await expiryIds(withdrawal.position, { knownAt: knownBefore })).toContain(
      scheduled.suspensionId,
    );
    const cancelled = (await feed()).get(uid);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      start: '2040-01-01T05:00:00.000Z',
      summary: expect.stringMatching(/^Retracted: /),
      description: expect.stringContaining('Retracted at'),
    });
    expect(cancelled?.sequence).toBeGreaterThan(merged?.sequence ?? Infinity);
    expect(cancelled?.stamp && cancelled.stamp >= (merged?.stamp ?? '')).toBe(true);

    const restored = await retract(code, withdrawal.eventIds[0], 'It was signed after all');
    expect(await expiryIds(restored.position)).toContain(scheduled.suspensionId);
    const confirmed = (await feed()).get(uid);
    expect(confirmed).toMatchObject({ status: 'CONFIRMED', start: '2040-01-01T05:00:00.000Z' });
    expect(confirmed?.summary).not.toMatch(/Retracted/);
    expect(confirmed?.sequence).toBeGreaterThan(cancelled?.sequence ?? Infinity);
  });

  it('cancels the ends of a measure whose recording was retracted', async () => {
    const code = `ICS-UNMADE-${suffix()}`;
    const recorded = await usDuty(code);
    const scheduled = await suspend(code, '2041-01-01T05:00:00Z');
    const uid = `${scheduled.suspensionId}@accord`;
    expect(await expiryIds(scheduled.position)).toContain(scheduled.suspensionId);
    const merged = (await feed()).get(uid);
    expect(merged?.status).toBe('CONFIRMED');

    const unmade = await retract(code, recorded.eventIds[0], 'No such measure');
    expect(await expiryIds(unmade.position)).not.toContain(scheduled.suspensionId);
    const cancelled = (await feed()).get(uid);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      summary: expect.stringContaining(code),
    });
    expect(cancelled?.description).toContain('Retracted at');
    expect(cancelled?.sequence).toBeGreaterThan(merged?.sequence ?? Infinity);
  });

  it('cancels an end that its measure’s revocation comes before, and keeps one it comes after', async () => {
    const code = `ICS-REVOKED-${suffix()}`;
    await usDuty(code);
    const early = await suspend(code, '2030-01-01T05:00:00Z');
    const late = await suspend(code, '2042-01-01T05:00:00Z');
    expect(await expiryIds(late.position)).toEqual(
      expect.arrayContaining([early.suspensionId, late.suspensionId]),
    );
    const merged = await feed();

    const revoked = await write(`/api/v1/measures/${code}/revocation`, {
      effectiveAt: '2035-01-01T05:00:00Z',
      sources: [source],
    });
    const listed = await expiryIds(revoked.position);
    expect(listed).toContain(early.suspensionId);
    expect(listed).not.toContain(late.suspensionId);
    const after = await feed();
    const cancelled = after.get(`${late.suspensionId}@accord`);
    expect(cancelled).toMatchObject({
      status: 'CANCELLED',
      start: '2042-01-01T05:00:00.000Z',
      summary: expect.stringMatching(/^Measure revoked: /),
      description: expect.stringContaining('Measure revoked at 2035-01-01T05:00:00.000Z'),
    });
    expect(cancelled?.sequence).toBeGreaterThan(
      merged.get(`${late.suspensionId}@accord`)?.sequence ?? Infinity,
    );
    expect(after.get(`${early.suspensionId}@accord`)?.status).toBe('CONFIRMED');
  });
});
