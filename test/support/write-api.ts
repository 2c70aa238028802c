import { randomBytes } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import type { Pool } from 'pg';
import request from 'supertest';
import { createApi } from '../../apps/api/src/create-api';

/** The content type of every error (RFC 9457), as the problem filter writes it. */
export const PROBLEM_JSON = /^application\/problem\+json(;|$)/;

/** A short random suffix, so that each test owns its codes and names. */
export const suffix = (): string => randomBytes(4).toString('hex').toUpperCase();

export interface ApiKeyCreated {
  id: string;
  key: string;
  name: string;
  role: 'viewer' | 'editor' | 'admin';
}

/** The real api (Fastify, every global guard and filter) on a database of its own. */
export interface WriteApiHarness {
  db: TestDatabase;
  app: NestFastifyApplication;
  adminKey: string;
  http(): ReturnType<typeof request>;
  createKey(role: ApiKeyCreated['role'], name?: string): Promise<ApiKeyCreated>;
  /** Every event of a stream, read with the event store on the test database. */
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /** `SELECT count(*) FROM events`. */
  eventCount(): Promise<number>;
  close(): Promise<void>;
}

export async function startWriteApi(label: string): Promise<WriteApiHarness> {
  const db = await createTestDatabase(label);
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  Object.assign(process.env, { DATABASE_URL: db.url, LOG_LEVEL: 'fatal', ADMIN_API_KEY: adminKey });
  const app = await createApi();
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  const store = new EventStore(db.pool);
  const http = () => request(app.getHttpServer());
  return {
    db,
    app,
    adminKey,
    http,
    async createKey(role, name = `${role}-${suffix()}`) {
      const response = await http()
        .post('/api/v1/api-keys')
        .set('authorization', `Bearer ${adminKey}`)
        .send({ name, role });
      if (response.status !== 201) {
        throw new Error(`creating a ${role} key failed: ${response.status} ${response.text}`);
      }
      return response.body as ApiKeyCreated;
    },
    readStream: (streamId) => store.readStream(streamId),
    eventCount: () => eventCount(db.pool),
    async close() {
      await app.close();
      await store.close();
      await db.drop();
    },
  };
}

export async function eventCount(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ count: string }>('SELECT count(*) AS count FROM events');
  return Number(rows[0].count);
}

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/**
 * Lets the database's transaction clock pass the instant a test notes: `recorded_at` has
 * microseconds, a JavaScript Date only milliseconds.
 */
export const tick = () => new Promise((resolve) => setTimeout(resolve, 15));

/** What a write answers (SPEC §4), as the read tests use it. */
export interface WriteAnswer {
  id: string;
  position: number;
  eventIds: string[];
  suspensionId?: string;
}

/** POSTs `body` with `headers`, checks the status and answers the write's body. */
export async function postWrite(
  http: () => ReturnType<typeof request>,
  headers: Record<string, string>,
  url: string,
  body: Record<string, unknown>,
  status = 200,
): Promise<WriteAnswer> {
  const response = await http().post(url).set(headers).send(body);
  expect({ status: response.status, body: response.body }).toMatchObject({ status });
  return response.body as WriteAnswer;
}

/** A new key of `role`, made with the admin key, as the header that sends it. */
export async function keyHeader(
  http: () => ReturnType<typeof request>,
  adminKey: string,
  role: 'viewer' | 'editor' | 'admin',
): Promise<Record<string, string>> {
  const response = await http()
    .post('/api/v1/api-keys')
    .set(bearer(adminKey))
    .send({ name: `${role}-${suffix()}`, role });
  expect(response.status).toBe(201);
  return bearer(response.body.key as string);
}

/** A source as SPEC §4 shapes it. */
export function source(title = 'Federal Register notice') {
  return {
    issuer: 'Executive Office of the President',
    title,
    url: 'https://www.federalregister.gov/d/2025-06063',
    documentNumber: 'EO 14257',
    publishedAt: '2025-04-07',
    official: true,
    language: 'en',
  };
}

/** A US tariff on China at 34% from 2025-04-09 00:01 New York time: the shape of the real one. */
export function usTariffBody(code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    title: `Reciprocal tariff on products of China (${code})`,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    legalBasis: 'IEEPA',
    instrument: 'EO 14257',
    rate: { type: 'ad-valorem', percent: 34 },
    scope: { description: 'All products of China', hsCodes: ['8501', '8541'] },
    timeZone: 'America/New_York',
    announcedAt: '2025-04-02T20:00:00Z',
    effectiveAt: '2025-04-09T04:01:00Z',
    sources: [source()],
    ...overrides,
  };
}

/** China's answer to a US measure, imposed by CN on US. */
export function cnCountermeasureBody(code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    title: `Additional duties on products of the US (${code})`,
    kind: 'tariff',
    imposingParty: 'CN',
    targetParties: ['US'],
    rate: { type: 'ad-valorem', percent: 34 },
    timeZone: 'Asia/Shanghai',
    effectiveAt: '2025-04-10T04:01:00Z',
    sources: [
      {
        issuer: 'Customs Tariff Commission of the State Council',
        title: 'Announcement No. 4 of 2025',
        documentNumber: 'Tariff Commission Ann. No. 4 of 2025',
        official: true,
        language: 'zh-Hans',
      },
    ],
    ...overrides,
  };
}

export function agreementBody(code: string, overrides: Record<string, unknown> = {}) {
  return {
    code,
    title: `Joint statement on economic and trade meeting (${code})`,
    parties: ['US', 'CN'],
    venue: 'Geneva',
    summary: 'Both sides lower their additional duties for 90 days.',
    concludedAt: '2025-05-12T07:00:00Z',
    sources: [
      {
        issuer: 'The White House',
        title: 'Joint Statement on U.S.-China Economic and Trade Meeting in Geneva',
        url: 'https://www.whitehouse.gov/briefings-statements/2025/05/joint-statement/',
        official: true,
        language: 'en',
      },
    ],
    ...overrides,
  };
}
