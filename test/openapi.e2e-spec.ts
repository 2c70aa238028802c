import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import request from 'supertest';
import { createApi } from '../apps/api/src/create-api';

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

describe('OpenAPI document and Swagger UI, end to end', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  /** Every route Nest registered, as `METHOD /path/{param}`. */
  const served = new Set<string>();
  let document: Json;
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
    Object.assign(process.env, { DATABASE_URL: db.url, LOG_LEVEL: 'error' });
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
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('is an OpenAPI 3 document, served without a key', () => {
    expect(document.openapi).toMatch(/^3\./);
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
});
