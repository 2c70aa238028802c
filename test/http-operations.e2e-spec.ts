import {
  PROBLEM_JSON,
  bearer,
  source,
  startWriteApi,
  suffix,
  usTariffBody,
  type ApiKeyCreated,
  type WriteApiHarness,
} from './support/write-api';

/** `If-Match` lists, trailing slashes and request metrics, over the real api. */
describe('HTTP operations, end to end', () => {
  let api: WriteApiHarness;
  let editor: ApiKeyCreated;
  const post = (path: string) => api.http().post(path).set(bearer(editor.key));
  const get = (path: string) => api.http().get(path).set(bearer(editor.key));
  const amendment = (percent: number) => ({
    rate: { type: 'ad-valorem', percent },
    effectiveAt: '2025-05-14T04:01:00Z',
    sources: [source()],
  });

  beforeAll(async () => {
    api = await startWriteApi('e2e_http_operations');
    editor = await api.createKey('editor');
  });
  afterAll(async () => {
    await api?.close();
  });

  /** The request counts `/metrics` shows, by their labels, and the whole text. */
  async function requestCounts(): Promise<{ counts: Map<string, number>; text: string }> {
    const metrics = await api.http().get('/metrics');
    expect(metrics.status).toBe(200);
    const counts = new Map(
      [
        ...metrics.text.matchAll(/^accord_http_request_duration_seconds_count\{(.*)\} (\d+)$/gm),
      ].map(([, labels, count]) => [labels, Number(count)]),
    );
    return { counts, text: metrics.text };
  }

  /** A new measure, at version 2 (recorded and put into force). */
  async function recordMeasure(): Promise<{ id: string; code: string }> {
    const code = `US-OPS-${suffix()}`;
    const response = await post('/api/v1/measures').send(usTariffBody(code));
    expect({ status: response.status, version: response.body.version }).toEqual({
      status: 201,
      version: 2,
    });
    return { id: response.body.id as string, code };
  }

  describe('If-Match with a list of ETags (RFC 9110 §13.1.1)', () => {
    it('lets a write through when any listed tag names the current version', async () => {
      const { id } = await recordMeasure();
      const amend = (ifMatch: string, percent: number) =>
        post(`/api/v1/measures/${id}/amendments`).set('if-match', ifMatch).send(amendment(percent));

      // The current version listed after an older one, and before a newer one.
      const first = await amend('"1", "2"', 30);
      expect({ status: first.status, etag: first.headers.etag }).toEqual({
        status: 200,
        etag: '"3"',
      });
      const second = await amend('"3", "9"', 31);
      expect({ status: second.status, etag: second.headers.etag }).toEqual({
        status: 200,
        etag: '"4"',
      });
      // Weak read tags (`W/"<version>.<digest>"`), as a client holding two reads sends them.
      const third = await amend('W/"2.c3RhbGU", W/"4.Y3VycmVudA"', 32);
      expect({ status: third.status, etag: third.headers.etag }).toEqual({
        status: 200,
        etag: '"5"',
      });
      expect((await api.readStream(`measure-${id}`)).at(-1)?.version).toBe(5);
    });

    it('tries again a write that lost a race, when the version the winner reached is listed', async () => {
      const { id } = await recordMeasure();
      // Current version 2; eight writes at once, each accepting any version from 2 to 9.
      const listed = Array.from({ length: 8 }, (_, i) => `"${i + 2}"`).join(', ');
      const responses = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          post(`/api/v1/measures/${id}/amendments`)
            .set('if-match', listed)
            .send(amendment(50 + i)),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
      expect((await api.readStream(`measure-${id}`)).at(-1)?.version).toBe(10);
    });

    it('answers 412 when no listed tag is current, and appends nothing', async () => {
      const { id } = await recordMeasure();
      const before = await api.eventCount();
      const response = await post(`/api/v1/measures/${id}/amendments`)
        .set('if-match', '"1", W/"3", "4"')
        .send(amendment(40));
      expect(response.status).toBe(412);
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(response.body).toMatchObject({ code: 'precondition-failed', currentVersion: 2 });
      expect(await api.eventCount()).toBe(before);
    });

    it('refuses a malformed list with 400 invalid-if-match, and appends nothing', async () => {
      const { id } = await recordMeasure();
      const before = await api.eventCount();
      for (const ifMatch of ['"2", version-3', '*, "2"', '"2']) {
        const response = await post(`/api/v1/measures/${id}/amendments`)
          .set('if-match', ifMatch)
          .send(amendment(41));
        expect({ ifMatch, status: response.status, code: response.body.code }).toEqual({
          ifMatch,
          status: 400,
          code: 'invalid-if-match',
        });
      }
      expect(await api.eventCount()).toBe(before);
    });
  });

  describe('a trailing slash', () => {
    it('POST /api/v1/measures/ creates, as without the slash', async () => {
      const code = `US-SLASH-${suffix()}`;
      const response = await post('/api/v1/measures/').send(usTariffBody(code));
      expect(response.status).toBe(201);
      expect(response.headers.location).toBe(`/api/v1/measures/${response.body.id as string}`);
      const history = await get(`/api/v1/measures/${code}/events/`);
      expect(history.status).toBe(200);
      expect(history.body.items).toHaveLength(2);
    });

    it('GET /api/v1/measures/ lists, as without the slash', async () => {
      const response = await get('/api/v1/measures/?limit=1');
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ items: expect.any(Array) });
    });

    it('a method the path lacks is still 405 with Allow, slash or not', async () => {
      for (const [path, allow] of [
        ['/api/v1/measures/', 'GET, HEAD, POST'],
        ['/api/v1/events/?after=3', 'GET, HEAD'],
      ]) {
        const response = await api.http().put(path).set(bearer(editor.key));
        expect({ path, status: response.status, code: response.body.code }).toEqual({
          path,
          status: 405,
          code: 'method-not-allowed',
        });
        expect(response.headers.allow).toBe(allow);
      }
    });

    it('is dropped on the server’s own routes outside /api/v1 too: /metrics/, /health/ready/', async () => {
      const metrics = await api.http().get('/metrics/');
      expect(metrics.status).toBe(200);
      expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
      expect(metrics.text).toContain('accord_http_request_duration_seconds');
      const ready = await api.http().get('/health/ready/');
      expect({ status: ready.status, body: ready.body }).toEqual({
        status: 200,
        body: expect.objectContaining({ status: 'ok' }),
      });
      expect((await api.http().get('/health/live/')).body).toEqual({ status: 'ok' });
      expect((await api.http().get('/api/openapi.json/')).body).toMatchObject({
        openapi: expect.stringMatching(/^3\./),
      });
      // Still a 405 with Allow, as on the path without the slash.
      const put = await api.http().put('/metrics/');
      expect({ status: put.status, allow: put.headers.allow }).toEqual({
        status: 405,
        allow: 'GET, HEAD',
      });
    });

    it('leaves the queue dashboard working: its page with and without it, its scripts, its API', async () => {
      const asAdmin = bearer(api.adminKey);
      for (const path of ['/admin/queues', '/admin/queues/']) {
        const page = await api.http().get(path).set(asAdmin);
        expect({ path, status: page.status, type: page.headers['content-type'] }).toEqual({
          path,
          status: 200,
          type: expect.stringMatching(/^text\/html/),
        });
        // Admins only, with the slash too.
        expect((await api.http().get(path)).status).toBe(401);
      }
      // The page's scripts, relative to its base, load.
      const page = await api.http().get('/admin/queues/').set(asAdmin);
      const script = /<script[^>]* src="(static\/[^"]+\.js)"/.exec(page.text)?.[1];
      expect(script).toEqual(expect.any(String));
      const asset = await api.http().get(`/admin/queues/${script}`).set(asAdmin);
      expect({ status: asset.status, type: asset.headers['content-type'] }).toEqual({
        status: 200,
        type: expect.stringMatching(/javascript/),
      });
      const queues = await api.http().get('/admin/queues/api/queues').set(asAdmin);
      expect(queues.status).toBe(200);
      expect(queues.body).toMatchObject({ queues: expect.any(Array) });
    });

    it('changes nothing outside /api/v1: Swagger UI still redirects to where its links resolve', async () => {
      expect((await api.http().get('/api/openapi.json')).body).toMatchObject({
        openapi: expect.stringMatching(/^3\./),
      });
      const page = await api.http().get('/api/docs');
      expect(page.status).toBe(200);
      const slashed = await api.http().get('/api/docs/');
      expect({ status: slashed.status, location: slashed.headers.location }).toEqual({
        status: 301,
        location: '../docs',
      });
    });
  });

  describe('request metrics', () => {
    it('times requests by method, route pattern and status, never by URL or query', async () => {
      const { id, code } = await recordMeasure();
      expect((await get(`/api/v1/measures/${id}/events`)).status).toBe(200);
      expect((await get(`/api/v1/measures/${code}/events`)).status).toBe(200);
      const token = (await get('/api/v1/api-keys/me/feed-token')).body.feedToken as string;
      expect(token).toEqual(expect.any(String));
      expect((await api.http().get(`/api/v1/expiries.ics?token=${token}`)).status).toBe(200);
      const unknown = `/api/v1/no-such-${suffix()}`;
      expect((await api.http().get(unknown)).status).toBe(404);

      const metrics = await api.http().get('/metrics');
      expect(metrics.status).toBe(200);
      const counts = new Map(
        [
          ...metrics.text.matchAll(/^accord_http_request_duration_seconds_count\{(.*)\} (\d+)$/gm),
        ].map(([, labels, count]) => [labels, Number(count)]),
      );
      const count = (method: string, route: string, status: number) =>
        counts.get(`method="${method}",route="${route}",status_code="${status}"`) ?? 0;
      expect(count('GET', '/api/v1/measures/:measure/events', 200)).toBeGreaterThanOrEqual(2);
      expect(count('POST', '/api/v1/measures', 201)).toBeGreaterThanOrEqual(1);
      expect(count('GET', '/api/v1/expiries.ics', 200)).toBeGreaterThanOrEqual(1);
      // Every path no route matched is one series.
      expect(count('GET', 'unmatched', 404)).toBeGreaterThanOrEqual(1);
      expect(metrics.text).toMatch(/accord_http_request_duration_seconds_bucket\{le="0\.005",/);
      for (const secret of [id, code, token, unknown]) expect(metrics.text).not.toContain(secret);
    });

    it('counts what the router refuses before routing, as unmatched: a malformed URL, a segment too long', async () => {
      const before = await requestCounts();
      const malformed = '/api/v1/measures/%E0%A4%A';
      expect((await get(malformed)).status).toBe(400);
      const tooLong = `/api/v1/measures/TOKEN-${'x'.repeat(200)}`;
      expect((await get(tooLong)).status).toBe(414);
      expect((await get(`${tooLong}/events`)).status).toBe(414);

      const after = await requestCounts();
      const added = (labels: string) =>
        (after.counts.get(labels) ?? 0) - (before.counts.get(labels) ?? 0);
      expect(added('method="GET",route="unmatched",status_code="400"')).toBe(1);
      expect(added('method="GET",route="unmatched",status_code="414"')).toBe(2);
      for (const url of [malformed, tooLong]) expect(after.text).not.toContain(url);
      expect(after.text).not.toContain('TOKEN-');
    });
  });
});
