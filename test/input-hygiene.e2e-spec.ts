import { randomUUID } from 'node:crypto';
import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import {
  PROBLEM_JSON,
  agreementBody,
  bearer,
  source,
  startWriteApi,
  suffix,
  usTariffBody,
  type WriteApiHarness,
} from './support/write-api';

/**
 * Input the write API must refuse with a clear 4xx problem and nothing recorded: references
 * by UUID to nothing, control characters, bodies that are not UTF-8 or are compressed, ETags
 * with leading zeros, expectations Node cannot meet, and over-long text.
 */
describe('Input hygiene (e2e)', () => {
  let api: WriteApiHarness;
  let editor: Record<string, string>;
  let measure: { id: string; code: string; suspensionId: string };
  let agreement: { id: string; code: string };

  const post = (path: string) => api.http().post(path).set(editor);

  /**
   * Sends `body` as the exact bytes given, declared as JSON, over a raw connection: superagent
   * serializes a Buffer declared as JSON as {"type":"Buffer",…}, and cannot send `Expect`.
   */
  async function postBytes(
    path: string,
    body: Buffer,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string>; body: Record<string, unknown> }> {
    const server: Server = api.app.getHttpServer();
    if (!server.listening) await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    return new Promise((resolve, reject) => {
      const sent = httpRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path,
          headers: {
            ...editor,
            'content-type': 'application/json',
            'content-length': String(body.length),
            ...headers,
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers as Record<string, string>,
              body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
            }),
          );
        },
      );
      sent.on('error', reject);
      sent.end(body);
    });
  }

  /** The problem answered, asserting status, code and media type, and that nothing was recorded. */
  async function refused(
    send: () => PromiseLike<{ status: number; headers: Record<string, string>; body: unknown }>,
    status: number,
    code: string,
  ): Promise<Record<string, unknown>> {
    const before = await api.eventCount();
    const response = await send();
    expect({ status: response.status, body: response.body }).toMatchObject({
      status,
      body: { status, code },
    });
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(await api.eventCount()).toBe(before);
    return response.body as Record<string, unknown>;
  }

  beforeAll(async () => {
    api = await startWriteApi('e2e_input_hygiene');
    editor = bearer((await api.createKey('editor')).key);
    const code = `HYG-${suffix()}`;
    const recorded = await post('/api/v1/measures').send(usTariffBody(code));
    expect(recorded.status).toBe(201);
    const suspended = await post(`/api/v1/measures/${code}/suspensions`).send({
      startsAt: '2025-05-14T04:01:00Z',
      duration: 'P90D',
      sources: [source()],
    });
    expect(suspended.status).toBe(201);
    measure = { id: recorded.body.id, code, suspensionId: suspended.body.suspensionId };
    const agreementCode = `HYG-A-${suffix()}`;
    const concluded = await post('/api/v1/agreements').send(agreementBody(agreementCode));
    expect(concluded.status).toBe(201);
    agreement = { id: concluded.body.id, code: agreementCode };
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('references by UUID are looked for, as references by code are', () => {
    const suspension = (agreementRef: string) => ({
      startsAt: '2025-12-14T05:01:00Z',
      duration: 'P30D',
      agreement: agreementRef,
      sources: [source()],
    });

    it('a suspension or extension naming no agreement, or a measure, → 404 agreement-not-found', async () => {
      for (const named of [randomUUID(), measure.id, 'NO-SUCH-AGREEMENT']) {
        for (const send of [
          () => post(`/api/v1/measures/${measure.code}/suspensions`).send(suspension(named)),
          () =>
            post(
              `/api/v1/measures/${measure.code}/suspensions/${measure.suspensionId}/extensions`,
            ).send({ duration: 'P30D', agreement: named, sources: [source()] }),
        ]) {
          const problem = await refused(send, 404, 'agreement-not-found');
          expect(problem).toMatchObject({ field: 'agreement', agreement: named });
        }
      }
      // The agreement itself, by UUID, is found.
      const found = await post(`/api/v1/measures/${measure.code}/suspensions`).send(
        suspension(agreement.id),
      );
      expect(found.status).toBe(201);
    });

    it('a commitment concerning no measure, or an agreement, → 404 measure-not-found', async () => {
      const commitment = (measures: string[]) => ({
        obligor: 'US',
        kind: 'suspend',
        text: 'Suspend 24 points',
        measures,
        sources: [source()],
      });
      for (const named of [randomUUID(), agreement.id]) {
        const problem = await refused(
          () =>
            post(`/api/v1/agreements/${agreement.code}/commitments`).send(
              commitment([measure.id, named]),
            ),
          404,
          'measure-not-found',
        );
        expect(problem).toMatchObject({ field: 'measures.1', measure: named });
      }
    });
  });

  describe('an agreement’s parties', () => {
    it.each([
      [['US', 'US'], 'parties.1'],
      [['US', 'CN', 'CN'], 'parties.2'],
    ])(
      '%j → 422 duplicate-agreement-party naming %s, as a measure’s duplicate target is refused',
      async (parties, field) => {
        const code = `HYG-A-${suffix()}`;
        const problem = await refused(
          () => post('/api/v1/agreements').send(agreementBody(code, { parties })),
          422,
          'duplicate-agreement-party',
        );
        expect(problem).toMatchObject({
          type: 'https://accord.dev/problems/duplicate-agreement-party',
          field,
          errors: [{ field, message: expect.stringMatching(/more than once/) }],
        });
        expect((await api.http().get(`/api/v1/agreements/${code}`).set(editor)).status).toBe(404);
      },
    );

    it('a single party is still agreement-parties-required', async () => {
      const problem = await refused(
        () =>
          post('/api/v1/agreements').send(agreementBody(`HYG-A-${suffix()}`, { parties: ['US'] })),
        422,
        'agreement-parties-required',
      );
      expect(problem).toMatchObject({ field: 'parties' });
    });
  });

  describe('control characters', () => {
    it('in a body → 400 validation-failed naming each field; tab and line breaks are fine', async () => {
      const problem = await refused(
        () =>
          post('/api/v1/measures').send(
            usTariffBody(`HYG-${suffix()}`, {
              title: 'a\u001b[31m red title',
              summary: 'bell\u0007',
              sources: [source('del\u007f')],
            }),
          ),
        400,
        'validation-failed',
      );
      const message =
        'must not contain control characters other than tab, line feed and carriage return';
      expect(problem.errors).toEqual(
        expect.arrayContaining([
          { field: 'title', message },
          { field: 'summary', message },
          { field: 'sources.0.title', message },
        ]),
      );
      const claim = await post(`/api/v1/measures/${measure.code}/claims`).send({
        party: 'CN',
        statement: 'two\r\nlines\tand a tab',
        sources: [source()],
      });
      expect(claim.status).toBe(201);
    });

    it('in a query → 400 validation-failed', async () => {
      const problem = await refused(
        () => api.http().get('/api/v1/measures.csv?q=a%01b').set(editor),
        400,
        'validation-failed',
      );
      expect(problem.errors).toEqual([
        {
          field: 'q',
          message:
            'must not contain control characters other than tab, line feed and carriage return',
        },
      ]);
    });
  });

  describe('query string encoding', () => {
    it.each([
      ['/api/v1/measures?q=%FF', 'q'],
      ['/api/v1/measures?imposingParty=US&q=ok%E0%A4%A', 'q'],
      ['/api/v1/measures.csv?q=%C0%AF', 'q'],
      ['/api/v1/agreements?party=%ED%A0%80', 'party'],
      ['/api/v1/expiries?from=2025-01-01&to=%F0%9F%98', 'to'],
      ['/api/v1/events?after=%', 'after'],
      ['/api/v1/timeline?party=%ZZ', 'party'],
      ['/api/v1/measures?%FF=1', '%FF'],
    ])(
      'GET %s → 400 invalid-query-encoding naming %s, not U+FFFD or the raw text',
      async (path, field) => {
        const problem = await refused(
          () => api.http().get(path).set(editor),
          400,
          'invalid-query-encoding',
        );
        expect(problem).toMatchObject({
          detail: expect.stringMatching(/percent-encoded UTF-8/),
          errors: [{ field, message: expect.any(String) }],
          instance: path.split('?')[0],
        });
      },
    );

    it('on any route, a write’s and one outside the API’s own too', async () => {
      await refused(
        () =>
          post(`/api/v1/measures/${measure.code}/claims?note=%FF`).send({
            party: 'CN',
            statement: 'A claim.',
            sources: [source()],
          }),
        400,
        'invalid-query-encoding',
      );
      for (const path of ['/health/live?x=%FF', '/api/openapi.json?x=%FF']) {
        const response = await api.http().get(path);
        expect({ path, status: response.status, code: response.body.code }).toEqual({
          path,
          status: 400,
          code: 'invalid-query-encoding',
        });
      }
    });

    it('well-formed UTF-8, an encoded percent sign and + for a space are read as sent', async () => {
      for (const q of ['Z%C3%B6lle%20%E2%80%94%20%E5%85%B3%E7%A8%8E', '%25FF', 'a+b']) {
        const response = await api.http().get(`/api/v1/measures?q=${q}`).set(editor);
        expect({ q, status: response.status }).toEqual({ q, status: 200 });
      }
    });
  });

  describe('body encoding', () => {
    const claimBytes = (statement: Buffer) =>
      Buffer.concat([
        Buffer.from('{"party":"CN","statement":"'),
        statement,
        Buffer.from(`","sources":${JSON.stringify([source()])}}`),
      ]);

    it.each([
      ['a byte that is never UTF-8', Buffer.from([0xff])],
      // Decoded leniently, this one became a single U+FFFD of the same length, and was stored.
      ['a truncated four-byte sequence', Buffer.from([0x6f, 0x6b, 0xf0, 0x9f, 0x98])],
      // (Without its byte order mark, UTF-16 of ASCII is UTF-8 with NULs: refused as such.)
      ['UTF-16, its byte order mark first', Buffer.from('\ufeffok', 'utf16le')],
      ['an encoded surrogate (CESU-8)', Buffer.from([0xed, 0xa0, 0x80])],
    ])('%s → 400 invalid-body-encoding, nothing recorded', async (_name, bytes) => {
      const problem = await refused(
        () => postBytes(`/api/v1/measures/${measure.code}/claims`, claimBytes(bytes)),
        400,
        'invalid-body-encoding',
      );
      expect(problem.detail).toMatch(/not valid UTF-8/);
    });

    it('UTF-8 beyond ASCII, a BOM before it too, is read as sent', async () => {
      for (const bom of [Buffer.alloc(0), Buffer.from([0xef, 0xbb, 0xbf])]) {
        const response = await postBytes(
          `/api/v1/measures/${measure.code}/claims`,
          Buffer.concat([bom, claimBytes(Buffer.from('Zölle — 关税 🚢'))]),
        );
        expect({ status: response.status, body: response.body }).toMatchObject({ status: 201 });
      }
      const events = await api.readStream(`measure-${measure.id}`);
      expect(events.at(-1)?.payload).toMatchObject({ statement: 'Zölle — 关税 🚢' });
    });

    it('a compressed body → 415 unsupported-content-encoding, with Accept-Encoding: identity', async () => {
      const json = claimBytes(Buffer.from('compressed'));
      for (const [encoding, bytes] of [
        ['gzip', gzipSync(json)],
        // Declared but not applied: refused all the same, rather than read as something else.
        ['br', json],
        ['identity, gzip', gzipSync(json)],
      ] as const) {
        const before = await api.eventCount();
        const response = await postBytes(`/api/v1/measures/${measure.code}/claims`, bytes, {
          'content-encoding': encoding,
        });
        expect(response.status).toBe(415);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(response.headers['accept-encoding']).toBe('identity');
        expect(response.body).toMatchObject({ code: 'unsupported-content-encoding' });
        expect(await api.eventCount()).toBe(before);
      }
      const identity = await postBytes(`/api/v1/measures/${measure.code}/claims`, json, {
        'content-encoding': 'identity',
      });
      expect(identity.status).toBe(201);
    });

    it('keeps the body limit: 413 payload-too-large over 256 KiB', async () => {
      const big = claimBytes(Buffer.from('x'.repeat(257 * 1024)));
      await refused(
        () => postBytes(`/api/v1/measures/${measure.code}/claims`, big),
        413,
        'payload-too-large',
      );
    });
  });

  describe('preconditions and expectations', () => {
    it('If-Match with a leading zero names no version Accord issued → 412', async () => {
      const code = `HYG-${suffix()}`;
      expect((await post('/api/v1/measures').send(usTariffBody(code))).status).toBe(201);
      const claim = { party: 'CN', statement: 'A claim.', sources: [source()] };
      await refused(
        () => post(`/api/v1/measures/${code}/claims`).set('if-match', '"02"').send(claim),
        412,
        'precondition-failed',
      );
      await refused(
        () => post(`/api/v1/measures/${code}/claims`).set('if-match', '02').send(claim),
        400,
        'invalid-if-match',
      );
      const current = await post(`/api/v1/measures/${code}/claims`)
        .set('if-match', '"2"')
        .send(claim);
      expect(current.status).toBe(201);
    });

    it('an Expect other than 100-continue → 417 expectation-failed as problem+json', async () => {
      const claim = { party: 'CN', statement: 'A claim.', sources: [source()] };
      const problem = await refused(
        () =>
          postBytes(
            `/api/v1/measures/${measure.code}/claims?x=1`,
            Buffer.from(JSON.stringify(claim)),
            { expect: '200-ok' },
          ),
        417,
        'expectation-failed',
      );
      expect(problem).toMatchObject({
        type: 'https://accord.dev/problems/expectation-failed',
        instance: `/api/v1/measures/${measure.code}/claims`,
      });
    });
  });

  describe('text lengths', () => {
    it.each([
      ['legalBasis', { legalBasis: 'x'.repeat(2001) }, 'legalBasis'],
      ['instrument', { instrument: 'x'.repeat(501) }, 'instrument'],
      [
        'a source issuer',
        { sources: [{ ...source(), issuer: 'x'.repeat(501) }] },
        'sources.0.issuer',
      ],
      ['a source title', { sources: [source('x'.repeat(1001))] }, 'sources.0.title'],
    ])('a measure with too long %s → 400 naming it', async (_name, overrides, field) => {
      const problem = await refused(
        () => post('/api/v1/measures').send(usTariffBody(`HYG-${suffix()}`, overrides)),
        400,
        'validation-failed',
      );
      expect(problem.errors).toEqual([{ field, message: expect.any(String) }]);
    });

    it('an agreement with too long a venue → 400 naming it; at the limits, 201', async () => {
      const problem = await refused(
        () =>
          post('/api/v1/agreements').send(
            agreementBody(`HYG-A-${suffix()}`, { venue: 'x'.repeat(501) }),
          ),
        400,
        'validation-failed',
      );
      expect(problem.errors).toEqual([{ field: 'venue', message: expect.any(String) }]);
      const atLimits = await post('/api/v1/measures').send(
        usTariffBody(`HYG-${suffix()}`, {
          legalBasis: 'x'.repeat(2000),
          instrument: 'x'.repeat(500),
          sources: [{ ...source('x'.repeat(1000)), issuer: 'x'.repeat(500) }],
        }),
      );
      expect(atLimits.status).toBe(201);
    });
  });
});
