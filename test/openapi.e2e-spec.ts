import { randomBytes, randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';
import { WorkerModule } from '../apps/worker/src/worker.module';

/** The parsed document, walked freely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** The routes of the controllers (write API, API keys, health), as the document spells them. */
const EXPECTED_ROUTES = [
  'POST /api/v1/measures',
  'POST /api/v1/measures/{measure}/amendments',
  'POST /api/v1/measures/{measure}/suspensions',
  'POST /api/v1/measures/{measure}/suspensions/{suspension}/extensions',
  'POST /api/v1/measures/{measure}/suspensions/{suspension}/lifting',
  'POST /api/v1/measures/{measure}/revocation',
  'POST /api/v1/measures/{measure}/exclusions',
  'POST /api/v1/measures/{measure}/exclusions/{exclusion}/extensions',
  'POST /api/v1/measures/{measure}/claims',
  'POST /api/v1/measures/{measure}/retractions',
  'POST /api/v1/agreements',
  'POST /api/v1/agreements/{agreement}/commitments',
  'POST /api/v1/agreements/{agreement}/commitments/{commitment}/status',
  'POST /api/v1/agreements/{agreement}/reaffirmations',
  'POST /api/v1/agreements/{agreement}/claims',
  'POST /api/v1/agreements/{agreement}/retractions',
  'POST /api/v1/api-keys',
  'GET /api/v1/api-keys',
  'DELETE /api/v1/api-keys/{id}',
  'GET /health/live',
  'GET /health/ready',
];
const WRITE_ROUTE = /^POST \/api\/v1\/(measures|agreements)\b/;
const WRITE_PROBLEMS = ['400', '401', '403', '404', '409', '412', '413', '415', '422'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];

/**
 * Checks values against schemas of the document with Ajv, as JSON Schema 2020-12 (what an
 * OpenAPI 3.1 Schema Object is): the document's components are one schema, and a schema taken
 * from anywhere in the document has its `#/components/…` references pointed at it.
 */
class SchemaChecker {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new WeakMap<Json, ValidateFunction>();

  constructor(document: Json) {
    addFormats(this.ajv);
    this.ajv.addSchema(pointedAtDocument({ components: document.components }), DOCUMENT_ID);
  }

  /** The ways `value` breaks `schema`, as `<path>: <what>`; none when it holds. */
  violations(schema: Json, value: unknown): string[] {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(pointedAtDocument(schema));
      this.compiled.set(schema, validate);
    }
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => {
      const at = error.instancePath || '/';
      const params = error.params as Record<string, string>;
      if (error.keyword === 'additionalProperties')
        return `${error.instancePath}/${params.additionalProperty}: not in the schema`;
      if (error.keyword === 'required')
        return `${error.instancePath}/${params.missingProperty}: missing`;
      return `${at}: ${error.message ?? error.keyword}`;
    });
  }
}

const DOCUMENT_ID = 'https://accord.test/openapi.json';

function pointedAtDocument(schema: Json): Json {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`),
  ) as Json;
}

/** Checks a body against a schema of the document: its errors, none when it holds. */
type Validate = (schema: Json, body: unknown) => string[];

describe('OpenAPI document and Swagger UI, end to end', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let worker: INestApplicationContext;
  /** Every route Nest registered, as `METHOD /path/{param}`. */
  const served = new Set<string>();
  let document: Json;
  let checker: SchemaChecker;
  const http = () => request(app.getHttpServer());

  function operations(): { route: string; operation: Json }[] {
    return Object.entries(document.paths as Json).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => ({
        route: `${method.toUpperCase()} ${path}`,
        operation: item[method],
      })),
    );
  }
  const operation = (route: string) => operations().find((o) => o.route === route)?.operation;

  /** `#/components/schemas/X` → the schema, or undefined. */
  function resolve(ref: string): Json | undefined {
    return ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<Json | undefined>((node, key) => node?.[key], document);
  }

  beforeAll(async () => {
    db = await createTestDatabase('e2e_openapi');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'error',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
      // A subscription to a loopback URL, to check that the server takes what the document does.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    app = await createApi();
    // Nest adds its routes on init: record them, to compare with the document.
    app
      .getHttpAdapter()
      .getInstance()
      .addHook('onRoute', (route) => {
        for (const method of [route.method].flat()) {
          served.add(`${method} ${route.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
        }
      });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const response = await http().get('/api/openapi.json').expect(200);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    document = response.body;
    checker = new SchemaChecker(document);
    // The projections behind the read routes, so that real answers can be checked.
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
  }, 60_000);
  afterAll(async () => {
    await worker?.close();
    await app?.close();
    await db?.drop();
  });

  it('is an OpenAPI 3 document, served without a key', () => {
    expect(document.openapi).toBe('3.1.0');
    // 3.1's schemas are JSON Schema: a value that may be null says so with `type: 'null'`.
    // 3.0's `nullable` would be ignored there (and beside a `$ref` or an enum, it never worked).
    expect(JSON.stringify(document)).not.toContain('"nullable"');
    expect(document.info).toMatchObject({ title: 'Accord API', version: expect.any(String) });
    expect(document.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
  });

  it('lists every route of the controllers', () => {
    const documented = operations().map((o) => o.route);
    expect(documented).toEqual(expect.arrayContaining(EXPECTED_ROUTES));
  });

  it('lists every route Nest serves under /api/v1 and /health', () => {
    const documented = new Set(operations().map((o) => o.route));
    const routes = [...served].filter(
      (route) => /^[A-Z]+ \/(api\/v1|health)\b/.test(route) && !route.startsWith('HEAD '),
    );
    expect(routes.length).toBeGreaterThanOrEqual(EXPECTED_ROUTES.length);
    expect(routes.filter((route) => !documented.has(route))).toEqual([]);
  });

  it('gives every write a request body that $refs a zod-generated schema', () => {
    const writes = operations().filter(({ route }) => WRITE_ROUTE.test(route));
    expect(writes.length).toBeGreaterThanOrEqual(16);
    for (const { route, operation } of writes) {
      const schema = operation.requestBody?.content?.['application/json']?.schema;
      expect({ route, ref: schema?.$ref }).toEqual({
        route,
        ref: expect.stringMatching(/^#\/components\/schemas\/[A-Za-z]+Body$/),
      });
      const body = resolve(schema.$ref as string);
      expect({ route, type: body?.type, strict: body?.additionalProperties }).toEqual({
        route,
        type: 'object',
        strict: false,
      });
      expect(body?.properties?.sources).toBeDefined();
    }
    expect(operation('POST /api/v1/api-keys')?.requestBody.content['application/json']).toEqual({
      schema: { $ref: '#/components/schemas/CreateApiKeyBody' },
    });
    const recordMeasure = resolve('#/components/schemas/RecordMeasureBody')!;
    expect(recordMeasure.required).toEqual(
      expect.arrayContaining(['title', 'kind', 'imposingParty', 'targetParties', 'sources']),
    );
    expect(Object.keys(recordMeasure.properties)).toEqual(
      expect.arrayContaining([
        'code',
        'legalBasis',
        'rate',
        'scope',
        'timeZone',
        'announcedAt',
        'effectiveAt',
        'respondsTo',
      ]),
    );
    expect(resolve('#/components/schemas/ScheduleSuspensionBody')!.properties).toEqual(
      expect.objectContaining({ startsAt: expect.any(Object), startsWhen: expect.any(Object) }),
    );
  });

  it('describes the write response, the preconditions and every problem of a write', () => {
    for (const { route, operation } of operations().filter((o) => WRITE_ROUTE.test(o.route))) {
      const success = operation.responses['201'] ?? operation.responses['200'];
      expect({ route, schema: success?.content?.['application/json']?.schema }).toEqual({
        route,
        schema: { $ref: '#/components/schemas/WriteResult' },
      });
      expect(success.headers).toHaveProperty('ETag');
      const headers = (operation.parameters as Json[])
        .filter((p) => p.in === 'header')
        .map((p) => p.name);
      expect({ route, headers }).toEqual({
        route,
        headers: expect.arrayContaining(['If-Match', 'Idempotency-Key']),
      });
      for (const status of WRITE_PROBLEMS) {
        expect({ route, status, content: operation.responses[status]?.content }).toEqual({
          route,
          status,
          content: {
            'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
          },
        });
      }
    }
    expect(resolve('#/components/schemas/WriteResult')).toMatchObject({
      required: expect.arrayContaining(['id', 'version', 'position', 'eventIds', 'replayed']),
      properties: {
        suspensionId: expect.any(Object),
        exclusionId: expect.any(Object),
        commitmentId: expect.any(Object),
        claimId: expect.any(Object),
      },
    });
    const problem = resolve('#/components/schemas/Problem')!;
    expect(Object.keys(problem.properties)).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code', 'errors']),
    );
    expect(problem.required).toEqual(expect.arrayContaining(['type', 'title', 'status', 'code']));
  });

  it('says that {measure} and {agreement} take a UUID or a code', () => {
    for (const { route, operation } of operations()) {
      for (const parameter of (operation.parameters ?? []) as Json[]) {
        if (parameter.in !== 'path' || !['measure', 'agreement'].includes(parameter.name)) continue;
        expect({ route, anyOf: parameter.schema.anyOf }).toEqual({
          route,
          anyOf: expect.arrayContaining([
            expect.objectContaining({ format: 'uuid' }),
            expect.objectContaining({ pattern: expect.any(String) }),
          ]),
        });
      }
    }
    const suspension = (
      operation('POST /api/v1/measures/{measure}/suspensions/{suspension}/lifting')!
        .parameters as Json[]
    ).find((p) => p.name === 'suspension');
    expect(suspension).toMatchObject({ in: 'path', required: true });
  });

  it('lists the query parameters of the read routes, from the schemas that validate them', () => {
    const query = (route: string) =>
      Object.fromEntries(
        ((operation(route)?.parameters ?? []) as Json[])
          .filter((parameter) => parameter.in === 'query')
          .map((parameter) => [parameter.name, parameter.required as boolean]),
      );
    expect(query('GET /api/v1/measures')).toMatchObject({
      asOf: false,
      knownAt: false,
      minPosition: false,
      cursor: false,
      limit: false,
      imposingParty: false,
      q: false,
    });
    expect(query('GET /api/v1/measures/{measure}')).toMatchObject({ asOf: false, knownAt: false });
    expect(query('GET /api/v1/tariffs/summary')).toMatchObject({
      imposingParty: true,
      targetParty: true,
    });
    expect(query('POST /api/v1/webhook-subscriptions/{id}/replay')).toMatchObject({
      since: true,
      until: false,
    });
    expect(Object.keys(operation('GET /api/v1/measures')?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '403', '503']),
    );
    expect(Object.keys(operation('GET /api/v1/measures/{measure}')?.responses ?? {})).toEqual(
      expect.arrayContaining(['400', '404', '503']),
    );
  });

  it('resolves every $ref of the document', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(document);
    expect(refs.length).toBeGreaterThan(50);
    expect([...new Set(refs)].filter((ref) => resolve(ref) === undefined)).toEqual([]);
  });

  it('puts bearerAuth on exactly the routes the guard closes', async () => {
    // The guard's answer to a request without a key; a public route may still check a token of
    // its own (the calendar feed does) and answer 401 in its own words.
    const askedForKey = (response: request.Response) =>
      response.status === 401 && /Send an API key/.test(String(response.body?.detail));
    for (const { route, operation } of operations()) {
      const [method, path] = route.split(' ');
      const url = path.replace(/\{measure\}/g, 'US-RECIPROCAL-CN').replace(/\{[a-z]+\}/gi, 'x');
      const response = await http()[method.toLowerCase() as 'get'](url);
      const bearer = ((operation.security ?? []) as Json[]).some((r) => 'bearerAuth' in r);
      expect({ route, bearer }).toEqual({ route, bearer: askedForKey(response) });
      if (bearer) {
        expect(operation.security).toContainEqual({ bearerAuth: [] });
        expect(operation.responses).toHaveProperty('401');
        expect(operation.responses).toHaveProperty('403');
      }
    }
    expect(operation('GET /health/live')!.security).toBeUndefined();
    expect(operation('POST /api/v1/measures')!.security).toEqual([{ bearerAuth: [] }]);
    // Every scheme an operation names is defined.
    const schemes = Object.keys(document.components.securitySchemes);
    const named = operations().flatMap(({ operation }) =>
      ((operation.security ?? []) as Json[]).flatMap((r) => Object.keys(r)),
    );
    expect([...new Set(named)].filter((name) => !schemes.includes(name))).toEqual([]);
  });

  it('serves Swagger UI at /api/docs without a key, with its assets', async () => {
    const page = await http().get('/api/docs').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<div id="swagger-ui">');
    expect(page.text).toContain('"url":"openapi.json"');
    expect(page.text).toContain('"persistAuthorization":false');
    expect(page.headers).toMatchObject({
      'x-frame-options': 'DENY',
      'content-security-policy': "frame-ancestors 'none'",
    });
    const assets = [...page.text.matchAll(/(?:href|src)="(docs\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets).toEqual(expect.arrayContaining(['docs/swagger-ui.css']));
    for (const asset of assets) {
      const response = await http().get(`/api/${asset}`);
      expect({ asset, status: response.status }).toEqual({ asset, status: 200 });
    }
    const script = await http().get('/api/docs/swagger-ui-bundle.js').expect(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    await http().get('/api/docs/').expect(301).expect('location', '../docs');
    const unknown = await http().get('/api/docs/package.json').expect(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
  it('documents a 200 with a body for every GET under /api/v1', () => {
    const reads = operations().filter(({ route }) => route.startsWith('GET /api/v1/'));
    expect(reads.length).toBeGreaterThanOrEqual(18);
    for (const { route, operation } of reads) {
      const content = (operation.responses['200']?.content ?? {}) as Json;
      const schemas = Object.values(content).map((media) => (media as Json).schema as Json);
      expect({ route, described: schemas.length > 0 && schemas.every(Boolean) }).toEqual({
        route,
        described: true,
      });
      for (const schema of schemas) {
        if (schema.$ref)
          expect({ route, ref: resolve(schema.$ref as string) }).not.toEqual({
            route,
            ref: undefined,
          });
      }
    }
    const body = (route: string) => operation(route)?.responses['200']?.content;
    expect(body('GET /api/v1/measures/{measure}')).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/MeasureView' } },
    });
    expect(Object.keys(body('GET /api/v1/measures.csv') ?? {})).toEqual(['text/csv']);
    expect(Object.keys(body('GET /api/v1/expiries.ics') ?? {})).toEqual(['text/calendar']);
    expect(resolve('#/components/schemas/MeasureView')!.required).toEqual(
      expect.arrayContaining([
        'id',
        'code',
        'title',
        'kind',
        'imposingParty',
        'targetParties',
        'status',
        'rate',
        'activeSuspension',
        'suspensions',
        'asOf',
        'knownAt',
      ]),
    );
  });

  it('gives every Idempotency-Key the rule the server enforces', async () => {
    const keyed = operations().flatMap(({ route, operation }) =>
      ((operation.parameters ?? []) as Json[])
        .filter((parameter) => parameter.in === 'header' && parameter.name === 'Idempotency-Key')
        .map((parameter) => ({ route, schema: parameter.schema as Json })),
    );
    // The trade writes, the API key creation and the subscription writes.
    expect(keyed.length).toBeGreaterThanOrEqual(23);
    for (const { route, schema } of keyed) {
      expect({ route, schema }).toEqual({
        route,
        schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$', maxLength: 200 },
      });
    }
    // A subscription write refuses what the pattern refuses, as a trade write does.
    const pattern = new RegExp(keyed[0].schema.pattern as string);
    const ping = () =>
      http()
        .post(`/api/v1/webhook-subscriptions/${randomUUID()}/test`)
        .set('authorization', `Bearer ${adminKey}`);
    for (const refused of ['two words', 'x'.repeat(201)]) {
      expect(pattern.test(refused)).toBe(false);
      const answer = await ping().set('idempotency-key', refused);
      expect({ refused, status: answer.status, code: answer.body.code }).toEqual({
        refused,
        status: 400,
        code: 'invalid-idempotency-key',
      });
    }
    const taken = 'x'.repeat(200);
    expect(pattern.test(taken)).toBe(true);
    const answer = await ping().set('idempotency-key', taken);
    expect({ status: answer.status, code: answer.body.code }).toEqual({
      status: 404,
      code: 'webhook-subscription-not-found',
    });
  });

  it('documents the 422 and 409 problems the webhook routes answer', () => {
    // 404s name `webhook-subscription-not-found` (checked below, with the subscriptions' codes).
    const problems = (route: string) =>
      Object.entries(operation(route)?.responses ?? {})
        .filter(
          ([status, response]) =>
            status !== '404' &&
            /webhook-/.test(String((response as { description?: string }).description)),
        )
        .map(([status]) => status);
    expect(problems('POST /api/v1/webhook-subscriptions')).toEqual(['409', '422']);
    expect(problems('PATCH /api/v1/webhook-subscriptions/{id}')).toEqual(['422']);
    for (const route of [
      'POST /api/v1/webhook-subscriptions/{id}/test',
      'POST /api/v1/webhook-subscriptions/{id}/deliveries/{deliveryId}/retry',
      'POST /api/v1/webhook-subscriptions/{id}/replay',
    ]) {
      expect({ route, problems: problems(route) }).toEqual({ route, problems: ['409'] });
    }
  });

  it('documents the ETag of single resources, the feed token 401 and 414 on long names', async () => {
    for (const route of ['GET /api/v1/measures/{measure}', 'GET /api/v1/agreements/{agreement}']) {
      expect({ route, headers: operation(route)?.responses['200']?.headers }).toEqual({
        route,
        headers: { ETag: expect.objectContaining({ schema: { type: 'string' } }) },
      });
      // Conditional GET: If-None-Match, and 304 with the ETag and no body.
      expect(operation(route)?.parameters).toContainEqual(
        expect.objectContaining({ name: 'If-None-Match', in: 'header' }),
      );
      expect(operation(route)?.responses['304']).toEqual({
        description: expect.any(String),
        headers: { ETag: expect.objectContaining({ schema: { type: 'string' } }) },
      });
    }
    const calendar = operation('GET /api/v1/expiries.ics')!;
    expect(calendar.security).toBeUndefined();
    expect(calendar.responses['401']).toMatchObject({
      description: expect.stringContaining('unauthenticated'),
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
    });
    const refused = await http().get('/api/v1/expiries.ics?token=nope');
    expect({ status: refused.status, code: refused.body?.code }).toEqual({
      status: 401,
      code: 'unauthenticated',
    });

    // The router refuses a path parameter over its length limit on every such route.
    const named = operations().filter(({ route }) => route.includes('{'));
    for (const { route, operation } of named) {
      expect({ route, has414: '414' in operation.responses }).toEqual({ route, has414: true });
    }
    const tooLong = await http()
      .get(`/api/v1/measures/${'X'.repeat(3000)}`)
      .set('authorization', `Bearer ${adminKey}`);
    expect({ status: tooLong.status, code: tooLong.body?.code }).toEqual({
      status: 414,
      code: 'uri-too-long',
    });
    expect(
      resolve('#/components/schemas/WriteResult')!.properties.eventIds.description,
    ).not.toMatch(/empty when replayed/);
  });

  it('documents the webhook subscriptions’ 204, ETag and Location, and their own 404 codes', () => {
    const responses = (route: string) => (operation(route)?.responses ?? {}) as Json;
    const base = '/api/v1/webhook-subscriptions';
    expect(Object.keys(responses(`DELETE ${base}/{id}`))).toContain('204');
    expect(responses(`DELETE ${base}/{id}`)['204'].content).toBeUndefined();
    expect(Object.keys(responses(`POST ${base}`)['201'].headers ?? {}).sort()).toEqual([
      'ETag',
      'Location',
    ]);
    for (const route of [
      `GET ${base}/{id}`,
      `PATCH ${base}/{id}`,
      `POST ${base}/{id}/rotate-secret`,
    ]) {
      expect({ route, headers: Object.keys(responses(route)['200'].headers ?? {}) }).toEqual({
        route,
        headers: ['ETag'],
      });
    }
    // Every operation on a subscription names the codes it answers 404 with, and only those.
    const onSubscriptions = operations().filter(({ route }) => route.includes(`${base}/{id}`));
    expect(onSubscriptions.length).toBeGreaterThanOrEqual(8);
    for (const { route, operation } of onSubscriptions) {
      const description = String(operation.responses['404']?.description);
      expect({ route, description }).toEqual({
        route,
        description: expect.stringContaining('`webhook-subscription-not-found`'),
      });
      expect({ route, names: /measure-not-found/.test(description) }).toEqual({
        route,
        names: false,
      });
      if (route.includes('{deliveryId}')) {
        expect({ route, description }).toEqual({
          route,
          description: expect.stringContaining('`webhook-delivery-not-found`'),
        });
      }
    }
    expect(responses(`POST ${base}`)['422'].description).toMatch(/`idempotency-key-reused`/);
  });

  it('documents what the body and URL handling answer, on every operation it applies to', () => {
    for (const { route, operation } of operations()) {
      const statuses = Object.keys(operation.responses as Json);
      // A malformed URL (`/%FF`) is a 400 `bad-request` on any route.
      expect({ route, has400: statuses.includes('400') }).toEqual({ route, has400: true });
      // Fastify parses the body of these methods whether or not the route reads one.
      if (/^(POST|PUT|PATCH|DELETE) /.test(route)) {
        expect({ route, statuses }).toEqual({
          route,
          statuses: expect.arrayContaining(['400', '413', '415']),
        });
      }
      // Wherever If-Match is taken, a malformed one is a 400 and a stale one a 412.
      const ifMatch = ((operation.parameters ?? []) as Json[]).find((p) => p.name === 'If-Match');
      if (ifMatch) {
        expect({ route, statuses }).toEqual({
          route,
          statuses: expect.arrayContaining(['400', '412']),
        });
        expect({ route, pattern: typeof ifMatch.schema?.pattern }).toEqual({
          route,
          pattern: 'string',
        });
      }
      for (const [status, response] of Object.entries(operation.responses as Json)) {
        if (!(response as Json).content?.['application/problem+json']) continue;
        const named = { '401': '`unauthenticated`', '403': '`forbidden`' }[status];
        if (named) {
          expect({ route, status, description: (response as Json).description }).toEqual({
            route,
            status,
            description: expect.stringContaining(named),
          });
        }
        // Both 503s (database-unavailable, not-caught-up) say when to ask again.
        if (status === '503') {
          expect({ route, headers: (response as Json).headers }).toEqual({
            route,
            headers: { 'Retry-After': expect.objectContaining({ schema: expect.any(Object) }) },
          });
        }
      }
    }
    expect(operation('GET /api/v1/events')!.responses['400'].description).toMatch(/`bad-request`/);
  });

  it('gives instants in query parameters the years the server takes, 0001–9999', () => {
    let checked = 0;
    for (const { route, operation } of operations()) {
      for (const parameter of (operation.parameters ?? []) as Json[]) {
        if (parameter.in !== 'query') continue;
        if (!['asOf', 'knownAt', 'from', 'to', 'since', 'until'].includes(parameter.name)) continue;
        const at = `${route} ?${parameter.name}`;
        const check = (value: string) => checker.violations(parameter.schema as Json, value);
        expect({ at, errors: check('0001-01-01T00:00:00Z') }).toEqual({ at, errors: [] });
        expect({ at, errors: check('9999-12-31T23:59:59.999Z') }).toEqual({ at, errors: [] });
        expect({ at, refused: check('0000-12-31T00:00:00Z').length > 0 }).toEqual({
          at,
          refused: true,
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
    // No read answers 422 for them any more: none documents one.
    for (const { route, operation } of operations()) {
      if (route.startsWith('GET '))
        expect({ route, has422: '422' in operation.responses }).toEqual({ route, has422: false });
    }
  });

  it('describes the query parameters, their defaults and what integers they take', () => {
    const undescribed = operations().flatMap(({ route, operation }) =>
      ((operation.parameters ?? []) as Json[])
        .filter((p) => p.in === 'query' && !p.description)
        .map((p) => `${route} ?${p.name as string}`),
    );
    expect(undescribed).toEqual([]);
    const parameter = (route: string, name: string) =>
      ((operation(route)?.parameters ?? []) as Json[]).find(
        (p) => p.name === name && p.in === 'query',
      );
    expect(parameter('GET /api/v1/measures', 'knownAt')?.description).toMatch(/Default: now/);
    expect(parameter('GET /api/v1/measures', 'knownAt')?.description).toMatch(
      /later instant answers as now/,
    );
    expect(parameter('GET /api/v1/measures', 'minPosition')?.description).toMatch(
      /503 `not-caught-up`/,
    );
    expect(parameter('GET /api/v1/alerts', 'measure')?.description).toMatch(/id or code/);
    expect(parameter('GET /api/v1/expiries', 'from')?.description).toMatch(/2026-11-30/);
    expect(parameter('GET /api/v1/events', 'limit')?.schema).toMatchObject({
      type: 'integer',
      default: 100,
    });
    expect(parameter('GET /api/v1/measures', 'limit')?.schema).toMatchObject({
      type: 'integer',
      default: 50,
    });
    expect(resolve('#/components/schemas/Alert')!.properties.deliveredAt.description).toMatch(
      /null for that long/,
    );
  });

  it('gives the webhook and suspension bodies the rules the server enforces', async () => {
    const create = operation('POST /api/v1/webhook-subscriptions')!.requestBody.content[
      'application/json'
    ].schema as Json;
    const body = (extra: Json) => ({ url: 'http://127.0.0.1:9/hook', eventTypes: ['*'], ...extra });
    const refusedByDocument = [
      body({ eventTypes: ['nope.event'] }),
      body({ eventTypes: ['ping.*'] }),
      body({ leadTimes: ['soon'] }),
      body({ filters: { parties: ['c'] } }),
      body({ filters: { measureKinds: ['bogus'] } }),
    ];
    for (const refused of refusedByDocument) {
      expect({ refused, errors: checker.violations(create, refused).length > 0 }).toEqual({
        refused,
        errors: true,
      });
      const answer = await http()
        .post('/api/v1/webhook-subscriptions')
        .set('authorization', `Bearer ${adminKey}`)
        .send(refused);
      expect({ refused, status: answer.status }).toEqual({ refused, status: 400 });
    }
    // What the document takes, the server takes: every event type and group it lists.
    const taken = body({
      eventTypes: create.properties.eventTypes.items.enum,
      leadTimes: ['PT0S', 'P30D', 'PT12H', 'P10Y'],
      filters: {
        parties: ['cn', 'US'],
        measureKinds: create.properties.filters.properties.measureKinds.items.enum,
      },
    });
    expect(checker.violations(create, taken)).toEqual([]);
    const created = await http()
      .post('/api/v1/webhook-subscriptions')
      .set('authorization', `Bearer ${adminKey}`)
      .send(taken);
    expect({ status: created.status, body: created.body as unknown }).toMatchObject({
      status: 201,
    });
    expect(created.headers.etag).toBe('"1"');

    const schedule = resolve('#/components/schemas/ScheduleSuspensionBody')!;
    const sources = [{ issuer: 'USTR', title: 'Notice', official: true }];
    for (const refused of [
      { sources },
      { startsAt: '2025-05-14T04:01:00Z', sources },
      {
        startsAt: '2025-05-14T04:01:00Z',
        endsAt: '2025-08-12T04:01:00Z',
        duration: 'P90D',
        sources,
      },
    ]) {
      expect({ refused, errors: checker.violations(schedule, refused).length > 0 }).toEqual({
        refused,
        errors: true,
      });
    }
    expect(
      checker.violations(schedule, {
        startsAt: '2025-05-14T04:01:00Z',
        duration: 'P90D',
        sources,
      }),
    ).toEqual([]);
    const extend = resolve('#/components/schemas/ExtendSuspensionBody')!;
    expect(checker.violations(extend, { sources }).length).toBeGreaterThan(0);
    expect(checker.violations(extend, { duration: 'P90D', sources })).toEqual([]);
  });

  describe('real answers validate against the schemas the document gives them', () => {
    const as = { authorization: `Bearer ${adminKey}` };
    const code = `OAPI-${randomBytes(4).toString('hex').toUpperCase()}`;
    const agreementCode = `OAPI-AGR-${randomBytes(4).toString('hex').toUpperCase()}`;
    const source = { issuer: 'USTR', title: 'Notice of action', official: true, language: 'en' };
    let validate: Validate;
    let position = 0;

    async function write(path: string, body: object, headers: Record<string, string> = {}) {
      const response = await http()
        .post(path)
        .set({ ...as, ...headers })
        .send(body);
      // The body too, so that a refused write says why.
      expect({ path, ok: response.status < 300, body: response.body as unknown }).toMatchObject({
        path,
        ok: true,
      });
      position = Math.max(position, response.body.position as number);
      return response;
    }

    /** The document's schema for the route's answer with this status and media type. */
    function documented(route: string, status = '200', media = 'application/json'): Json {
      const schema = operation(route)?.responses[status]?.content?.[media]?.schema as Json;
      expect({ route, status, documented: schema !== undefined }).toEqual({
        route,
        status,
        documented: true,
      });
      return schema;
    }

    async function expectValid(route: string, url: string, expected = 200) {
      const response = await http().get(url).set(as);
      expect({ url, status: response.status }).toEqual({ url, status: expected });
      const media = expected < 400 ? 'application/json' : 'application/problem+json';
      expect(response.headers['content-type']).toMatch(new RegExp(`^${media.replace('+', '\\+')}`));
      const errors = validate(documented(route, String(expected), media), response.body);
      expect({ url, errors }).toEqual({ url, errors: [] });
      return response;
    }

    beforeAll(async () => {
      validate = (schema, body) => checker.violations(schema, body);

      const measure = await write('/api/v1/measures', {
        code,
        title: 'Test duty on products of China',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 34 },
        scope: { allProducts: true },
        effectiveAt: '2025-04-09T04:01:00Z',
        sources: [source],
      });
      expect(validate(documented('POST /api/v1/measures', '201'), measure.body)).toEqual([]);
      await write(`/api/v1/measures/${code}/suspensions`, {
        startsAt: '2025-05-14T04:01:00Z',
        endsAt: '2099-11-10T05:01:00Z',
        part: { percentPoints: 24 },
        sources: [source],
      });
      await write(`/api/v1/measures/${code}/exclusions`, {
        description: 'Solar equipment',
        hsCodes: ['8541'],
        effectiveAt: '2025-06-01T04:00:00Z',
        endsAt: '2099-11-30T05:00:00Z',
        sources: [source],
      });
      await write('/api/v1/agreements', {
        code: agreementCode,
        title: 'Test consensus',
        parties: ['US', 'CN'],
        concludedAt: '2025-05-12T00:00:00Z',
        sources: [source],
      });
      await write(`/api/v1/agreements/${agreementCode}/commitments`, {
        obligor: 'US',
        kind: 'suspend',
        text: 'Suspend 24 points.',
        measures: [code],
        sources: [source],
      });
    }, 60_000);

    it('a replayed write answers the first write’s eventIds, as WriteResult says', async () => {
      const claim = { party: 'CN', statement: 'A claim.', sources: [source] };
      const key = { 'idempotency-key': `claim-${code}` };
      const first = await write(`/api/v1/agreements/${agreementCode}/claims`, claim, key);
      const again = await write(`/api/v1/agreements/${agreementCode}/claims`, claim, key);
      expect(again.body).toEqual({ ...first.body, replayed: true });
      expect(again.body.eventIds).toHaveLength(1);
      for (const response of [first, again]) {
        const schema = documented('POST /api/v1/agreements/{agreement}/claims', '201');
        expect(validate(schema, response.body)).toEqual([]);
      }
    });

    it('measures, agreements and their histories', async () => {
      const detail = await expectValid(
        'GET /api/v1/measures/{measure}',
        `/api/v1/measures/${code}?asOf=2025-07-01T00:00:00Z&minPosition=${position}`,
      );
      expect(detail.body).toMatchObject({ status: 'partially-suspended', exclusions: [{}] });
      expect(detail.headers.etag).toMatch(new RegExp(`^W/"${detail.body.version}\\.[\\w-]+"$`));
      // The check bites: a field the schema does not name, a missing one, a wrong type.
      const schema = documented('GET /api/v1/measures/{measure}');
      const { title: _title, ...untitled } = detail.body as Json;
      expect(validate(schema, { ...detail.body, extra: 1 })).toEqual(['/extra: not in the schema']);
      expect(validate(schema, untitled)).toEqual(['/title: missing']);
      expect(validate(schema, { ...detail.body, version: '1' })).toEqual([
        '/version: must be integer',
      ]);
      // Before it took effect: no status, no rate, no suspension, all null, as documented.
      const before = await expectValid(
        'GET /api/v1/measures/{measure}',
        `/api/v1/measures/${code}?asOf=2025-01-01T00:00:00Z`,
      );
      expect(before.body).toMatchObject({ status: null, rate: null, activeSuspension: null });
      expect(validate(schema, { ...before.body, status: 'dormant' })).toEqual([
        expect.stringMatching(/^\/status: /),
        expect.stringMatching(/^\/status: /),
        expect.stringMatching(/^\/status: must match a schema in anyOf/),
      ]);
      const [first, ...rest] = detail.body.suspensions as Json[];
      expect(
        validate(schema, { ...detail.body, suspensions: [{ ...first, onAsOf: null }, ...rest] }),
      ).toEqual(['/suspensions/0/onAsOf: must be object']);
      const list = await expectValid(
        'GET /api/v1/measures',
        `/api/v1/measures?imposingParty=US&asOf=2025-07-01T00:00:00Z&minPosition=${position}`,
      );
      expect(list.body.items).toContainEqual(expect.objectContaining({ code }));
      await expectValid('GET /api/v1/measures/{measure}/events', `/api/v1/measures/${code}/events`);
      const agreement = await expectValid(
        'GET /api/v1/agreements/{agreement}',
        `/api/v1/agreements/${agreementCode}?minPosition=${position}`,
      );
      expect(agreement.body.commitments).toHaveLength(1);
      const beforeConcluded = await expectValid(
        'GET /api/v1/agreements/{agreement}',
        `/api/v1/agreements/${agreementCode}?asOf=2025-01-01T00:00:00Z`,
      );
      expect(beforeConcluded.body).toMatchObject({ status: null, commitments: [{ status: null }] });
      expect(agreement.headers.etag).toMatch(
        new RegExp(`^W/"${agreement.body.version}\\.[\\w-]+"$`),
      );
      await expectValid(
        'GET /api/v1/agreements',
        `/api/v1/agreements?party=CN&minPosition=${position}`,
      );
      await expectValid(
        'GET /api/v1/agreements/{agreement}/events',
        `/api/v1/agreements/${agreementCode}/events`,
      );
      await expectValid('GET /api/v1/measures/{measure}', '/api/v1/measures/NO-SUCH-CODE', 404);
      await expectValid('GET /api/v1/measures', '/api/v1/measures?targetParty=zz', 400);
    });

    it('the feed, expiries, timeline, tariff summary, alerts, feed token and subscriptions', async () => {
      const feed = await expectValid('GET /api/v1/events', '/api/v1/events?limit=1000');
      expect(feed.body.items.length).toBeGreaterThanOrEqual(5);
      const expiries = await expectValid(
        'GET /api/v1/expiries',
        `/api/v1/expiries?to=2100-01-01&minPosition=${position}`,
      );
      expect(expiries.body.items).toContainEqual(
        expect.objectContaining({ measure: expect.objectContaining({ code }) }),
      );
      const timeline = await expectValid(
        'GET /api/v1/timeline',
        `/api/v1/timeline?party=CN&minPosition=${position}`,
      );
      expect(timeline.body.items.length).toBeGreaterThan(0);
      const summary = await expectValid(
        'GET /api/v1/tariffs/summary',
        `/api/v1/tariffs/summary?imposingParty=US&targetParty=CN&asOf=2025-07-01T00:00:00Z&minPosition=${position}`,
      );
      expect(summary.body.economyWide.measures).toContainEqual(expect.objectContaining({ code }));
      await expectValid('GET /api/v1/alerts', '/api/v1/alerts');
      const token = await expectValid(
        'GET /api/v1/api-keys/me/feed-token',
        '/api/v1/api-keys/me/feed-token',
      );
      const calendar = await http().get(token.body.path as string);
      expect(calendar.status).toBe(200);
      expect(calendar.headers['content-type']).toMatch(/^text\/calendar/);
      await expectValid('GET /api/v1/api-keys', '/api/v1/api-keys');
      await expectValid('GET /api/v1/webhook-subscriptions', '/api/v1/webhook-subscriptions');
    });
  });
});
