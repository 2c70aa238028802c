import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import {
  Body,
  Controller,
  Get,
  Headers,
  type LoggerService,
  MethodNotAllowedException,
  Module,
  Post,
  Query,
} from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DomainError, type DomainErrorCode } from '@app/domain';
import { CommandIdReusedError, WrongExpectedVersionError } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Client } from 'pg';
import request from 'supertest';
import { z } from 'zod';
import { ApiModule } from '../apps/api/src/api.module';
import { createApi } from '../apps/api/src/create-api';
import { ApiProblem, Public, ZodPipe } from '../apps/api/src/http';
import { suffix, usTariffBody } from './support/write-api';

const rateBody = z.strictObject({
  rate: z.strictObject({ type: z.literal('ad-valorem'), percent: z.number().min(0) }),
});

/** Routes that throw each kind of error a controller can meet. */
@Public()
@Controller('test/errors')
class ErrorsController {
  @Get('domain')
  domain(@Query('code') code: DomainErrorCode): never {
    throw new DomainError(code, `broken: ${code}`, { field: 'rate.percent', value: -1 });
  }

  @Post('version')
  version(@Headers('if-match') _ifMatch?: string): never {
    throw new WrongExpectedVersionError('measure-1', 2, 5);
  }

  @Post('idempotency')
  idempotency(): never {
    throw new CommandIdReusedError('key-1', 'measure-1', 'measure-2');
  }

  @Get('http')
  http(): never {
    throw new MethodNotAllowedException();
  }

  @Get('problem')
  problem(): never {
    throw new ApiProblem(429, 'slow-down', 'Slow down', 'Too many writes.', { retryAfter: 3 });
  }

  @Get('crash')
  crash(): never {
    throw new Error('connect ECONNREFUSED 10.1.2.3:5432 password=hunter2');
  }

  /** What a query meets while PostgreSQL is away: node-postgres's own error, for real. */
  @Get('database')
  async database(@Query('port') port: string): Promise<never> {
    const client = new Client({ host: '127.0.0.1', port: Number(port), user: 'root' });
    await client.connect();
    await client.end();
    throw new Error('PostgreSQL answered on a port that was closed');
  }

  @Post('rate')
  rate(@Body(new ZodPipe(rateBody)) body: z.output<typeof rateBody>) {
    return body;
  }

  @Get('search')
  search(
    @Query(new ZodPipe(z.strictObject({ limit: z.coerce.number().int().max(100) })))
    query: {
      limit: number;
    },
  ) {
    return query;
  }
}

@Module({ imports: [ApiModule], controllers: [ErrorsController] })
class ApiWithErrorRoutes {}

/** Keeps what the app logs, to check that a 500 is logged (and through the logger). */
class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  readonly debugs: string[] = [];
  debug(message: unknown): void {
    this.debugs.push(String(message));
  }
  log(): void {}
  warn(): void {}
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push([message, ...rest].map(String).join(' '));
  }
}

const PROBLEM_JSON = /^application\/problem\+json; charset=utf-8$/;

interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are, on a socket of their own: what supertest cannot send (a request line
 * Node's parser refuses, two Content-Type fields, a body without one), and reads the answer
 * until the server closes (`Connection: close`). A write error after the server answered and
 * closed is expected: it does not read the rest of a request it refused.
 */
function sendRaw(port: number, request: Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    // Written, not ended: a half-closed connection makes Node drop the request still in flight.
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head, ...rest] = text.split('\r\n\r\n');
      const [statusLine, ...fields] = head.split('\r\n');
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
      if (!match) {
        reject(new Error(`Not an HTTP response: ${JSON.stringify(text.slice(0, 200))}`));
        return;
      }
      const headers = Object.fromEntries(
        fields.map((field) => {
          const colon = field.indexOf(':');
          return [field.slice(0, colon).toLowerCase(), field.slice(colon + 1).trim()];
        }),
      );
      resolve({ status: Number(match[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

/** A request in HTTP/1.1 wire format; `lines` are the request line and the header fields. */
function wire(lines: string[], body = ''): Buffer {
  return Buffer.from(`${[...lines, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`, 'utf8');
}

describe('HTTP errors as problem+json, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  const asAdmin = { authorization: `Bearer ${adminKey}` };
  const logger = new CapturingLogger();
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let port: number;
  const http = () => request(app.getHttpServer());
  const eventCount = async () =>
    Number((await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM events')).rows[0].n);

  beforeAll(async () => {
    db = await createTestDatabase('e2e_http_errors');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      ADMIN_API_KEY: adminKey,
    });
    app = await createApi(ApiWithErrorRoutes);
    app.useLogger(logger);
    // Listening, for the raw-socket tests; supertest uses the same address.
    await app.listen(0, '127.0.0.1');
    port = (app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app?.close();
    await db.drop();
  });

  function expectProblem(response: request.Response, status: number, code: string) {
    expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({
      type: `https://accord.dev/problems/${code}`,
      title: expect.any(String),
      status,
      code,
    });
    return response.body;
  }

  describe('what Fastify refuses before any controller runs', () => {
    const post = () => http().post('/api/v1/api-keys').set(asAdmin);

    it('a client hanging up mid-body is nobody’s error: noted at debug, nothing written', async () => {
      const before = await eventCount();
      const logged = logger.errors.length;
      const noted = logger.debugs.length;
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /api/v1/measures HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              `Authorization: Bearer ${adminKey}\r\nContent-Length: 100\r\n\r\n{"title":`,
          );
          setTimeout(() => socket.destroy(), 100);
        });
        socket.on('close', () => resolve());
      });
      // The server sees the body cut off once the socket closes.
      const wentAway = 'POST /api/v1/measures: the client went away';
      for (let tries = 0; !logger.debugs.slice(noted).includes(wentAway) && tries < 50; tries++)
        await new Promise((resolve) => setTimeout(resolve, 20));
      expect(logger.debugs.slice(noted)).toContain(wentAway);
      expect(logger.errors.slice(logged)).toEqual([]);
      expect(await eventCount()).toBe(before);
    });

    it('gives a client 30 s to send a whole request, not for ever (Fastify’s default, 0)', () => {
      // Fastify's default 0 turns Node's own limit off too. (Node looks for overdue requests
      // every 30 s, too seldom for a test to wait on: the setting is what is checked.)
      expect(app.getHttpServer().requestTimeout).toBe(30_000);
      expect(app.getHttpServer().headersTimeout).toBe(30_000);
    });

    it('malformed JSON → 400 malformed-json', async () => {
      const response = await post().set('content-type', 'application/json').send('{"name": ');
      expectProblem(response, 400, 'malformed-json');
      expect(response.body.instance).toBe('/api/v1/api-keys');
    });

    it('an empty JSON body where a body is needed → 400 validation-failed', async () => {
      expectProblem(
        await post().set('content-type', 'application/json').send(''),
        400,
        'validation-failed',
      );
    });

    it('a body over 256 KiB → 413 payload-too-large; just under passes on to validation', async () => {
      const big = JSON.stringify({ name: 'x'.repeat(256 * 1024), role: 'viewer' });
      const tooLarge = await post().set('content-type', 'application/json').send(big);
      expect(expectProblem(tooLarge, 413, 'payload-too-large').limit).toBe(256 * 1024);

      const fits = JSON.stringify({ name: 'x'.repeat(255 * 1024), role: 'viewer' });
      const validated = await post().set('content-type', 'application/json').send(fits);
      expectProblem(validated, 400, 'validation-failed');
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])(
      '%s → 415 unsupported-media-type',
      async (contentType) => {
        const response = await post().set('content-type', contentType).send('name=x&role=viewer');
        expectProblem(response, 415, 'unsupported-media-type');
      },
    );

    it('an unknown route → 404 not-found, with or without a key', async () => {
      expectProblem(await http().get('/api/v1/nothing-here'), 404, 'not-found');
      const withKey = await http().post('/api/v1/nothing-here').set(asAdmin).send({ a: 1 });
      expect(expectProblem(withKey, 404, 'not-found').instance).toBe('/api/v1/nothing-here');
    });

    const someId = '0b7e4c52-3f7a-4d1e-9a6b-2c8d5e1f0a93';
    it.each([
      ['DELETE', '/api/v1/measures', 'GET, HEAD, POST'],
      ['PUT', '/api/v1/events', 'GET, HEAD'],
      ['PUT', '/api/v1/events?after=3', 'GET, HEAD'],
      ['POST', `/api/v1/measures/${someId}`, 'GET, HEAD'],
      ['PUT', `/api/v1/webhook-subscriptions/${someId}`, 'GET, HEAD, DELETE, PATCH'],
      ['PUT', `/api/v1/api-keys/${someId}`, 'GET, HEAD, DELETE'],
      ['OPTIONS', '/health/live', 'GET, HEAD'],
    ])(
      'a known path with a method it lacks: %s %s → 405 method-not-allowed, Allow: %s',
      async (method, path, allow) => {
        for (const headers of [{}, asAdmin]) {
          const response = await http()[method.toLowerCase() as 'put'](path).set(headers);
          const body = expectProblem(response, 405, 'method-not-allowed');
          expect(response.headers.allow).toBe(allow);
          expect(body).toMatchObject({
            allowed: allow.split(', '),
            instance: path.split('?')[0],
          });
        }
      },
    );

    it('a route that finds nothing itself (a static file that is not there) → 404, not 405', async () => {
      for (const method of ['get', 'head'] as const) {
        const response = await http()[method]('/api/docs/no-such-asset.js');
        expect({ method, status: response.status, allow: response.headers.allow }).toEqual({
          method,
          status: 404,
          allow: undefined,
        });
      }
    });

    it('a method nothing is routed for, on a path the router cannot decode → no 405', async () => {
      // The router's lookup under another method answers "bad URL" there, which is no route.
      const response = await sendRaw(
        port,
        wire(['TRACE /api/v1/measures/%E0%A4%A HTTP/1.1', 'Host: localhost']),
      );
      expect({ status: response.status, allow: response.headers.allow }).toEqual({
        status: 404,
        allow: undefined,
      });
    });
  });

  describe('the media type of a write: application/json only', () => {
    // A complete, valid measure: were any of these bodies parsed as JSON, it would be recorded.
    const measure = () => JSON.stringify(usTariffBody(`MEDIA-${suffix()}`));
    const rawWrite = (contentTypes: string[], body: string) =>
      sendRaw(
        port,
        wire(
          [
            'POST /api/v1/measures HTTP/1.1',
            'Host: localhost',
            `Authorization: Bearer ${adminKey}`,
            ...contentTypes.map((type) => `Content-Type: ${type}`),
            `Content-Length: ${Buffer.byteLength(body)}`,
          ],
          body,
        ),
      );
    const problemOf = (response: RawResponse) => {
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      return { status: response.status, body: JSON.parse(response.body) as { code: string } };
    };

    it.each([
      'text/plain',
      'text/plain; charset=utf-8',
      'application/octet-stream',
      'application/xml',
      'application/merge-patch+json',
      'application/x-www-form-urlencoded',
    ])('a measure sent as %s → 415 unsupported-media-type, nothing recorded', async (type) => {
      const before = await eventCount();
      const response = await http()
        .post('/api/v1/measures')
        .set(asAdmin)
        .set('content-type', type)
        .send(measure());
      expect(expectProblem(response, 415, 'unsupported-media-type').instance).toBe(
        '/api/v1/measures',
      );
      expect(await eventCount()).toBe(before);
    });

    it('two Content-Type fields that disagree → 415, whichever comes first; nothing recorded', async () => {
      // Node keeps only the first field: application/json first used to be parsed as JSON.
      const before = await eventCount();
      for (const types of [
        ['application/json', 'text/plain'],
        ['text/plain', 'application/json'],
        ['application/json', 'application/xml; charset=utf-8'],
      ]) {
        expect({ types, ...problemOf(await rawWrite(types, measure())) }).toMatchObject({
          types,
          status: 415,
          body: { code: 'unsupported-media-type' },
        });
      }
      expect(await eventCount()).toBe(before);
    });

    it('a body without a Content-Type → 415, nothing recorded', async () => {
      const before = await eventCount();
      expect(problemOf(await rawWrite([], measure()))).toMatchObject({
        status: 415,
        body: { code: 'unsupported-media-type' },
      });
      expect(await eventCount()).toBe(before);
    });

    it('application/json in any spelling, or twice alike, is JSON', async () => {
      for (const types of [
        ['Application/JSON'],
        ['application/json; charset=utf-8'],
        ['application/json', 'application/json; charset=utf-8'],
      ]) {
        const response = await rawWrite(types, measure());
        expect({ types, status: response.status }).toEqual({ types, status: 201 });
      }
    });

    it('a write without a body needs no Content-Type', async () => {
      const created = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: `bodyless-${suffix()}`, role: 'viewer' })
        .expect(201);
      await http().delete(`/api/v1/api-keys/${created.body.id}`).set(asAdmin).expect(204);
    });

    it('an empty body declared as JSON is no body: fine where none is needed', async () => {
      const created = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: `empty-json-${suffix()}`, role: 'viewer' })
        .expect(201);
      await http()
        .delete(`/api/v1/api-keys/${created.body.id}`)
        .set(asAdmin)
        .set('content-type', 'application/json')
        .send('')
        .expect(204);
    });
  });

  describe('what is refused before Fastify routes the request, on a raw socket', () => {
    const get = (target: string | Buffer, headers: string[] = []) =>
      sendRaw(
        port,
        Buffer.concat([
          Buffer.from('GET '),
          Buffer.isBuffer(target) ? target : Buffer.from(target),
          wire([' HTTP/1.1', 'Host: localhost', `Authorization: Bearer ${adminKey}`, ...headers]),
        ]),
      );
    function expectRawProblem(response: RawResponse, status: number, code: string) {
      expect({ status: response.status, type: response.headers['content-type'] }).toEqual({
        status,
        type: 'application/problem+json; charset=utf-8',
      });
      expect(Buffer.byteLength(response.body)).toBe(Number(response.headers['content-length']));
      const body = JSON.parse(response.body) as Record<string, unknown>;
      expect(body).toMatchObject({
        type: `https://accord.dev/problems/${code}`,
        title: expect.any(String),
        status,
        detail: expect.any(String),
        code,
      });
      return body;
    }

    it('raw UTF-8 in the request line → 400 bad-request (Node refuses it)', async () => {
      const response = await get(Buffer.from('/api/v1/measures?q=İ', 'utf8'));
      expectRawProblem(response, 400, 'bad-request');
      expect(response.headers.connection).toBe('close');
    });

    it('a 100 kB query string → 431 request-header-fields-too-large', async () => {
      const response = await get(`/api/v1/measures?q=${'a'.repeat(100_000)}`);
      expectRawProblem(response, 431, 'request-header-fields-too-large');
    });

    it('a header field over the limit → 431; a field name that is not a token → 400', async () => {
      expectRawProblem(
        await get('/api/v1/measures', [`X-Padding: ${'a'.repeat(20_000)}`]),
        431,
        'request-header-fields-too-large',
      );
      expectRawProblem(await get('/api/v1/measures', ['Bad Header: x']), 400, 'bad-request');
    });

    it('a malformed percent-encoding in the path → 400 bad-request from the router', async () => {
      const body = expectRawProblem(await get('/api/v1/measures/%E0%A4%A'), 400, 'bad-request');
      expect(body.instance).toBe('/api/v1/measures/%E0%A4%A');
    });

    it('the server keeps answering afterwards', async () => {
      await http().get('/api/v1/measures').set(asAdmin).expect(200);
    });
  });

  describe('validation', () => {
    it('an unknown field → 400 validation-failed naming it', async () => {
      const response = await http()
        .post('/api/v1/api-keys')
        .set(asAdmin)
        .send({ name: 'ci', role: 'viewer', isRoot: true });
      expect(expectProblem(response, 400, 'validation-failed').errors).toEqual([
        { field: 'isRoot', message: 'Unknown field' },
      ]);
    });

    it('names nested fields with a dotted path', async () => {
      const response = await http()
        .post('/test/errors/rate')
        .send({ rate: { type: 'ad-valorem', percent: '34', basis: 'cif' } });
      const body = expectProblem(response, 400, 'validation-failed');
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'rate.basis',
        'rate.percent',
      ]);
      await http()
        .post('/test/errors/rate')
        .send({ rate: { type: 'ad-valorem', percent: 34 } })
        .expect(201, { rate: { type: 'ad-valorem', percent: 34 } });
    });

    it('a body-less POST → 400 naming the body', async () => {
      const body = expectProblem(await http().post('/test/errors/rate'), 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'body', message: expect.any(String) }]);
    });

    it('validates query strings too', async () => {
      await http().get('/test/errors/search?limit=20').expect(200, { limit: 20 });
      const response = await http().get('/test/errors/search?limit=500&order=desc');
      const body = expectProblem(response, 400, 'validation-failed');
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['limit', 'order']);
    });
  });

  describe('a query string that is not percent-encoded UTF-8', () => {
    it('→ 400 invalid-query-encoding before the route validates it, with or without a key', async () => {
      for (const headers of [{}, asAdmin]) {
        const response = await http().get('/test/errors/search?limit=%FF').set(headers);
        expect(expectProblem(response, 400, 'invalid-query-encoding').errors).toEqual([
          { field: 'limit', message: 'is not valid percent-encoded UTF-8' },
        ]);
      }
      // A path nothing is routed for reads no query: still a 404.
      const unrouted = await http().get('/api/v1/nothing-here?q=%E0%A4%A').set(asAdmin);
      expectProblem(unrouted, 404, 'not-found');
      // Not on a raw socket either: what Node and the router see is plain ASCII.
      const raw = await sendRaw(
        port,
        wire([`GET /test/errors/search?limit=%C0%AF HTTP/1.1`, 'Host: localhost']),
      );
      expect(raw.status).toBe(400);
      expect(JSON.parse(raw.body)).toMatchObject({ code: 'invalid-query-encoding' });
    });
  });

  describe('characters PostgreSQL cannot store', () => {
    // A NUL (or a lone surrogate) reaching a query would fail in PostgreSQL with a 500: every
    // input is refused first, whichever route it goes to.
    it.each([
      ['/api/v1/measures?q=%00', 'q'],
      ['/api/v1/measures.csv?q=a%00b', 'q'],
      ['/api/v1/expiries?imposingParty=%00', 'imposingParty'],
      ['/api/v1/timeline?party=%00', 'party'],
      ['/api/v1/agreements?party=%00', 'party'],
      ['/api/v1/expiries.ics?token=%00', 'token'],
    ])('GET %s → 400 naming %s', async (path, field) => {
      const body = expectProblem(await http().get(path).set(asAdmin), 400, 'validation-failed');
      expect(body.errors).toContainEqual({
        field,
        message: 'must not contain NUL characters or unpaired surrogates',
      });
    });

    it('in a webhook subscription body → 400 naming the field, and nothing created', async () => {
      const create = (body: object) =>
        http().post('/api/v1/webhook-subscriptions').set(asAdmin).send(body);
      const body = expectProblem(
        await create({
          url: 'https://receiver.example/hooks',
          eventTypes: ['ping'],
          description: 'a\u0000b',
          filters: { measureKinds: ['tariff', '\u0000'] },
        }),
        400,
        'validation-failed',
      );
      expect(body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
        'description',
        'filters.measureKinds.1',
      ]);
      const list = await http().get('/api/v1/webhook-subscriptions').set(asAdmin).expect(200);
      expect(list.body.items).toEqual([]);
    });
  });

  describe('errors thrown by the application', () => {
    it.each([
      ['negative-rate', 422],
      ['measure-not-found', 404],
      ['measure-revoked', 409],
    ] as const)('DomainError %s → %i with its code and details', async (code, status) => {
      const body = expectProblem(
        await http().get(`/test/errors/domain?code=${code}`),
        status,
        code,
      );
      expect(body).toMatchObject({ detail: `broken: ${code}`, field: 'rate.percent', value: -1 });
    });

    it('a version conflict → 412 with If-Match, 409 without, both with the current version', async () => {
      const conditional = await http().post('/test/errors/version').set('if-match', '"2"');
      expect(expectProblem(conditional, 412, 'precondition-failed').currentVersion).toBe(5);
      const unconditional = await http().post('/test/errors/version');
      expect(expectProblem(unconditional, 409, 'wrong-expected-version').currentVersion).toBe(5);
    });

    it('a reused command id → 422 idempotency-key-reused', async () => {
      expectProblem(await http().post('/test/errors/idempotency'), 422, 'idempotency-key-reused');
    });

    it('another HttpException → its status and a code derived from it', async () => {
      expectProblem(await http().get('/test/errors/http'), 405, 'method-not-allowed');
    });

    it('an ApiProblem → as thrown, with its extension members', async () => {
      const body = expectProblem(await http().get('/test/errors/problem'), 429, 'slow-down');
      expect(body).toMatchObject({ detail: 'Too many writes.', retryAfter: 3 });
    });

    it('anything else → 500 internal-error, logged without the query, nothing of the cause in the answer', async () => {
      // A query may carry a credential: the calendar feed's token.
      const response = await http().get('/test/errors/crash?token=feed-s3cret');
      expectProblem(response, 500, 'internal-error');
      expect(response.text).not.toMatch(/ECONNREFUSED|hunter2|10\.1\.2\.3|\.ts:\d+/);
      expect(logger.errors.join('\n')).toContain('GET /test/errors/crash failed: Error: connect');
      expect(logger.errors.join('\n')).not.toContain('feed-s3cret');
    });

    it('PostgreSQL out of reach → 503 database-unavailable with Retry-After, not a 500', async () => {
      const closed = await new Promise<number>((resolve) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
          const { port: free } = server.address() as AddressInfo;
          server.close(() => resolve(free));
        });
      });
      const response = await http().get(`/test/errors/database?port=${closed}`);
      const body = expectProblem(response, 503, 'database-unavailable');
      expect(response.headers['retry-after']).toBe('5');
      expect(body.detail).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    });
  });
});
