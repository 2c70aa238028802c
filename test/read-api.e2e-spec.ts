import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import request from 'supertest';
import { parse } from 'yaml';
import { createApi } from '../apps/api/src/create-api';
import { WorkerModule } from '../apps/worker/src/worker.module';
import { repoRoot, runEntry } from './support/run-process';
import { cnCountermeasureBody, tick } from './support/write-api';

const PROBLEM_JSON = /^application\/problem\+json(;|$)/;

const source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  documentNumber: 'EO 99999',
  official: true,
  language: 'en',
};

const suffix = () => randomBytes(4).toString('hex').toUpperCase();

/** The stream version a read's weak ETag (`W/"<version>.<digest>"`) leads with. */
function versionTagged(etag: string | undefined): number | undefined {
  const match = /^W\/"(\d+)\.[\w-]+"$/.exec(etag ?? '');
  return match ? Number(match[1]) : undefined;
}

interface ListPage {
  items: Array<{ id: string; code: string | null; [field: string]: unknown }>;
  nextCursor: string | null;
}

/** The bundled dataset's measures, read from the file the seed imports. */
const datasetMeasures = (
  parse(readFileSync(path.join(repoRoot, 'data/us-china-2025.yaml'), 'utf8')) as {
    operations: Array<{ action: string; body: Record<string, unknown> }>;
  }
).operations
  .filter((operation) => operation.action === 'record-measure')
  .map((operation) => operation.body as { code: string; imposingParty: string; kind: string });

describe('read API over the bundled dataset, api and worker in one process', () => {
  const adminKey = `admin-${randomBytes(24).toString('base64url')}`;
  let db: TestDatabase;
  let api: NestFastifyApplication;
  let worker: INestApplicationContext;
  let viewerKey: string;
  let editorKey: string;
  /** The head of the log once the seed was imported. */
  let seeded: number;

  const http = () => request(api.getHttpServer());
  const asViewer = () => ({ authorization: `Bearer ${viewerKey}` });
  const asEditor = () => ({ authorization: `Bearer ${editorKey}` });
  const read = (url: string, query: Record<string, string | number> = {}) =>
    http().get(url).query(query).set(asViewer());

  async function createKey(role: 'viewer' | 'editor'): Promise<string> {
    const response = await http()
      .post('/api/v1/api-keys')
      .set('authorization', `Bearer ${adminKey}`)
      .send({ name: `${role}-${suffix()}`, role });
    expect(response.status).toBe(201);
    return response.body.key as string;
  }

  /** Follows the global feed to its end; returns the last position. */
  async function feedHead(): Promise<number> {
    for (let after = 0; ;) {
      const page = await read('/api/v1/events', { after, limit: 1000 });
      expect(page.status).toBe(200);
      if (!page.body.items.length) return after;
      after = page.body.nextCursor;
    }
  }

  /** Every item of a measure list, following `nextCursor`. */
  async function listAll(query: Record<string, string | number>): Promise<ListPage['items']> {
    const items: ListPage['items'] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await read('/api/v1/measures', {
        ...query,
        ...(cursor ? { cursor } : {}),
      });
      expect(response.status).toBe(200);
      const page = response.body as ListPage;
      items.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
      expect(pages).toBeLessThan(200);
    } while (cursor);
    return items;
  }

  async function recordUsTariff(code: string) {
    const response = await http()
      .post('/api/v1/measures')
      .set(asEditor())
      .send({
        code,
        title: `Test duty on products of China (${code})`,
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 34 },
        timeZone: 'America/New_York',
        effectiveAt: '2025-04-09T04:01:00Z',
        sources: [source],
      });
    expect(response.status).toBe(201);
    return response.body as { id: string; version: number; position: number; eventIds: string[] };
  }

  async function amend(measure: string, percent: number, effectiveAt: string) {
    const response = await http()
      .post(`/api/v1/measures/${measure}/amendments`)
      .set(asEditor())
      .send({ rate: { type: 'ad-valorem', percent }, effectiveAt, sources: [source] });
    expect(response.status).toBe(200);
    return response.body as { id: string; version: number; position: number; eventIds: string[] };
  }

  beforeAll(async () => {
    db = await createTestDatabase('e2e_read_api');
    Object.assign(process.env, {
      DATABASE_URL: db.url,
      LOG_LEVEL: 'fatal',
      ADMIN_API_KEY: adminKey,
      SUBSCRIPTION_POLL_MS: '50',
      // Queues of its own, so that test files running side by side share no Redis keys.
      REDIS_PREFIX: `accord-test-${randomUUID()}`,
    });
    // Seeded before the worker starts: the history is imported as it happened, and only then
    // does the worker record what has lapsed since.
    const seed = await runEntry(
      'apps/cli/src/main.ts',
      ['seed'],
      { DATABASE_URL: db.url, LOG_LEVEL: 'error' },
      120_000,
    );
    expect({ code: seed.code, stderr: seed.stderr }).toMatchObject({ code: 0 });

    api = await createApi();
    await api.init();
    await api.getHttpAdapter().getInstance().ready();
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });

    viewerKey = await createKey('viewer');
    editorKey = await createKey('editor');
    seeded = await feedHead();
  }, 180_000);

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await db?.drop();
  });

  describe('GET /api/v1/measures/{idOrCode}', () => {
    it('answers what the US charges on Chinese goods on 1 June and on 1 December 2026', async () => {
      const june = await read('/api/v1/measures/US-RECIPROCAL-CN', {
        asOf: '2026-06-01T00:00:00Z',
        minPosition: seeded,
      });
      expect(june.status).toBe(200);
      expect(june.body).toMatchObject({
        code: 'US-RECIPROCAL-CN',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        status: 'partially-suspended',
        rate: { type: 'ad-valorem', percent: 10 },
        fullRate: { type: 'ad-valorem', percent: 34 },
        suspendedPart: { percentPoints: 24 },
        activeSuspension: {
          id: expect.any(String),
          endsAt: '2026-11-10T05:01:00.000Z',
          part: { percentPoints: 24 },
        },
        asOf: '2026-06-01T00:00:00.000Z',
      });
      expect(versionTagged(june.headers.etag)).toBe(june.body.version);
      expect(june.body.suspensions.length).toBeGreaterThan(0);
      // Each suspension says where it stood on asOf, beside what became of it in the end.
      const suspension = (view: { suspensions: Array<{ id: string; onAsOf: unknown }> }) =>
        view.suspensions.find((s) => s.id === june.body.activeSuspension.id);
      expect(suspension(june.body)).toMatchObject({
        endsAt: '2026-11-10T05:01:00.000Z',
        onAsOf: { state: 'in-effect', endsAt: '2026-11-10T05:01:00.000Z' },
      });
      const summer2025 = await read('/api/v1/measures/US-RECIPROCAL-CN', {
        asOf: '2025-06-01T00:00:00Z',
      });
      expect(suspension(summer2025.body)).toMatchObject({
        endsAt: '2026-11-10T05:01:00.000Z',
        onAsOf: { state: 'in-effect', endsAt: summer2025.body.activeSuspension.endsAt },
      });
      expect(summer2025.body.activeSuspension.endsAt < '2026').toBe(true);
      const april2025 = await read('/api/v1/measures/US-RECIPROCAL-CN', {
        asOf: '2025-04-20T00:00:00Z',
      });
      expect(suspension(april2025.body)?.onAsOf).toEqual({ state: 'not-started', endsAt: null });
      expect(june.body.sources.length).toBeGreaterThan(0);
      expect(june.body.countermeasures).toContainEqual(
        expect.objectContaining({ code: 'CN-TC-2025-4' }),
      );

      const byId = await read(`/api/v1/measures/${june.body.id}`, {
        asOf: '2026-06-01T00:00:00Z',
      });
      expect(byId.status).toBe(200);
      expect(byId.body).toMatchObject({ code: 'US-RECIPROCAL-CN', status: 'partially-suspended' });

      const december = await read('/api/v1/measures/US-RECIPROCAL-CN', {
        asOf: '2026-12-01T00:00:00Z',
      });
      expect(december.status).toBe(200);
      expect(december.body).toMatchObject({
        status: 'in-force',
        rate: { percent: 34 },
        fullRate: { percent: 34 },
        activeSuspension: null,
      });
      expect(
        december.body.suspensions.find(
          (s: { id: string }) => s.id === june.body.activeSuspension.id,
        ),
      ).toMatchObject({ onAsOf: { state: 'ended', endsAt: null } });
    });

    it('shows a countermeasure with the measure it responds to', async () => {
      const response = await read('/api/v1/measures/CN-TC-2025-4', {
        asOf: '2025-04-20T00:00:00Z',
        minPosition: seeded,
      });
      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({ imposingParty: 'CN', targetParties: ['US'] });
      expect(response.body.respondsTo).toEqual([
        { id: expect.any(String), code: 'US-RECIPROCAL-CN' },
      ]);
    });

    it('reads its own write with minPosition; knownAt before the write does not see it', async () => {
      const code = `RYW-${suffix()}`;
      const recorded = await recordUsTariff(code);
      // Read your write: the row may not be projected yet, minPosition waits for it.
      const created = await read(`/api/v1/measures/${code}`, { minPosition: recorded.position });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ id: recorded.id, status: 'in-force', version: 1 });

      await tick();
      const beforeAmendment = new Date();
      await tick();
      const amended = await amend(code, 50, '2025-06-01T04:00:00Z');
      const current = await read(`/api/v1/measures/${code}`, {
        asOf: '2025-07-01T00:00:00Z',
        minPosition: amended.position,
      });
      expect(current.status).toBe(200);
      expect(current.body).toMatchObject({ rate: { percent: 50 }, version: amended.version });
      expect(versionTagged(current.headers.etag)).toBe(amended.version);

      const knownBefore = await read(`/api/v1/measures/${code}`, {
        asOf: '2025-07-01T00:00:00Z',
        knownAt: beforeAmendment.toISOString(),
      });
      expect(knownBefore.status).toBe(200);
      expect(knownBefore.body).toMatchObject({
        rate: { percent: 34 },
        version: 1,
        knownAt: beforeAmendment.toISOString(),
      });

      // Yesterday the tracker had not heard of the measure at all.
      const yesterday = new Date(Date.now() - 24 * 3600 * 1000);
      const unknownYesterday = await read(`/api/v1/measures/${code}`, {
        knownAt: yesterday.toISOString(),
      });
      expect(unknownYesterday.status).toBe(404);
      expect(unknownYesterday.body.code).toBe('measure-not-found');
    });

    it('says in a 404 with knownAt that nothing by that name was recorded by then', async () => {
      // The seed recorded every fact when it ran: on 1 June 2025 this Accord knew of none.
      const measure = await read('/api/v1/measures/US-RECIPROCAL-CN', {
        knownAt: '2025-06-01T00:00:00Z',
      });
      expect(measure.status).toBe(404);
      expect(measure.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(measure.body).toMatchObject({
        code: 'measure-not-found',
        detail: 'No measure is named US-RECIPROCAL-CN as known at 2025-06-01T00:00:00.000Z.',
        measure: 'US-RECIPROCAL-CN',
        knownAt: '2025-06-01T00:00:00.000Z',
      });
      const agreements = await read('/api/v1/agreements', { limit: 1 });
      const code = agreements.body.items[0].code as string;
      const agreement = await read(`/api/v1/agreements/${code}`, {
        knownAt: '2025-06-01T00:00:00Z',
      });
      expect(agreement.status).toBe(404);
      expect(agreement.body).toMatchObject({
        code: 'agreement-not-found',
        detail: `No agreement is named ${code} as known at 2025-06-01T00:00:00.000Z.`,
        knownAt: '2025-06-01T00:00:00.000Z',
      });
      // Without knownAt the detail says no more than before.
      const unknown = await read('/api/v1/measures/NO-SUCH-MEASURE');
      expect(unknown.body.detail).toBe('No measure is named NO-SUCH-MEASURE.');
    });

    it('ignores a retracted fact from its retraction on, but not as known before it', async () => {
      const code = `RETRACT-${suffix()}`;
      const { id } = await recordUsTariff(code);
      await amend(code, 60, '2025-08-01T04:00:00Z');
      await tick();
      const afterFact = new Date();
      await tick();

      const history = await read(`/api/v1/measures/${code}/events`);
      expect(history.status).toBe(200);
      const fact = history.body.items.find(
        (event: { type: string }) => event.type === 'MeasureRateAmended',
      );
      expect(fact).toMatchObject({ retracted: null, data: { rate: { percent: 60 } } });
      const retraction = await http()
        .post(`/api/v1/measures/${id}/retractions`)
        .set(asEditor())
        .send({ eventId: fact.eventId, reason: 'The order was misread', sources: [source] });
      expect(retraction.status).toBe(200);

      const now = await read(`/api/v1/measures/${code}`, {
        asOf: '2025-09-01T00:00:00Z',
        minPosition: retraction.body.position,
      });
      expect(now.status).toBe(200);
      expect(now.body).toMatchObject({ rate: { percent: 34 }, version: 3 });
      expect(now.body.rateHistory).toHaveLength(1);

      const knownBetween = await read(`/api/v1/measures/${code}`, {
        asOf: '2025-09-01T00:00:00Z',
        knownAt: afterFact.toISOString(),
      });
      expect(knownBetween.status).toBe(200);
      expect(knownBetween.body).toMatchObject({ rate: { percent: 60 }, version: 2 });

      const after = await read(`/api/v1/measures/${code}/events`);
      expect(after.body.nextCursor).toBeNull();
      expect(after.body.items.map((event: { type: string }) => event.type)).toEqual([
        'MeasureImplemented',
        'MeasureRateAmended',
        'EventRetracted',
      ]);
      const [, retracted, retractionEvent] = after.body.items;
      expect(retractionEvent).toMatchObject({
        eventId: retraction.body.eventIds[0],
        position: retraction.body.position,
        retracted: null,
        data: { eventId: fact.eventId, reason: 'The order was misread' },
      });
      expect(retracted).toMatchObject({
        eventId: fact.eventId,
        recordedAt: fact.recordedAt,
        effectiveAt: '2025-08-01T04:00:00.000Z',
        actor: expect.any(String),
        sources: [expect.objectContaining({ issuer: source.issuer })],
        retracted: {
          by: retractionEvent.eventId,
          recordedAt: retractionEvent.recordedAt,
          reason: 'The order was misread',
        },
      });
    });

    it('names what a countermeasure responded to as known then, once that link is retracted', async () => {
      const usCode = `LINKED-${suffix()}`;
      await recordUsTariff(usCode);
      const cnCode = `ANSWER-${suffix()}`;
      const created = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code: cnCode,
          title: `Test duty on products of the US (${cnCode})`,
          kind: 'tariff',
          imposingParty: 'CN',
          targetParties: ['US'],
          rate: { type: 'ad-valorem', percent: 34 },
          timeZone: 'Asia/Shanghai',
          effectiveAt: '2025-04-10T04:01:00Z',
          respondsTo: [usCode],
          sources: [source],
        });
      expect(created.status).toBe(201);
      const history = await read(`/api/v1/measures/${cnCode}/events`);
      const link = history.body.items.find(
        (event: { type: string }) => event.type === 'CountermeasureLinked',
      );
      expect(link).toBeDefined();
      const retraction = await http()
        .post(`/api/v1/measures/${cnCode}/retractions`)
        .set(asEditor())
        .send({ eventId: link.eventId, reason: 'Not an answer to it', sources: [source] });
      expect(retraction.status).toBe(200);

      const now = await read(`/api/v1/measures/${cnCode}`, {
        minPosition: retraction.body.position,
      });
      expect(now.status).toBe(200);
      expect(now.body.respondsTo).toEqual([]);
      // Before the retraction was recorded the link stood: the measure is folded from the log,
      // and what it responded to is named although the row no longer lists it.
      const then = await read(`/api/v1/measures/${cnCode}`, { knownAt: link.recordedAt });
      expect(then.status).toBe(200);
      expect(then.body.respondsTo).toEqual([{ id: expect.any(String), code: usCode }]);
      expect(then.body.version).toBeLessThan(now.body.version);
    });

    it('lists as countermeasures only the measures that responded to it as known then', async () => {
      const usCode = `ASKED-${suffix()}`;
      await recordUsTariff(usCode);
      await tick();
      const beforeAnswer = new Date().toISOString();
      await tick();
      const cnCode = `REPLY-${suffix()}`;
      const answer = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code: cnCode,
          title: `Test duty on products of the US (${cnCode})`,
          kind: 'tariff',
          imposingParty: 'CN',
          targetParties: ['US'],
          rate: { type: 'ad-valorem', percent: 34 },
          timeZone: 'Asia/Shanghai',
          effectiveAt: '2025-04-10T04:01:00Z',
          respondsTo: [usCode],
          sources: [source],
        });
      expect(answer.status).toBe(201);
      await tick();
      const afterAnswer = new Date().toISOString();
      await tick();
      // Changed since afterAnswer: the answer's row is not what was known then, and is folded.
      const amended = await amend(cnCode, 40, '2025-06-01T00:00:00Z');
      const reply = [{ id: answer.body.id, code: cnCode }];

      const now = await read(`/api/v1/measures/${usCode}`, { minPosition: amended.position });
      expect(now.body.countermeasures).toEqual(reply);
      const before = await read(`/api/v1/measures/${usCode}`, { knownAt: beforeAnswer });
      expect(before.status).toBe(200);
      expect(before.body.countermeasures).toEqual([]);
      expect((await read(`/api/v1/measures/${cnCode}`, { knownAt: beforeAnswer })).status).toBe(
        404,
      );
      const after = await read(`/api/v1/measures/${usCode}`, { knownAt: afterAnswer });
      expect(after.body.countermeasures).toEqual(reply);

      // The link retracted, then the retraction retracted: it stands again from then on.
      const history = await read(`/api/v1/measures/${cnCode}/events`);
      const link = history.body.items.find(
        (event: { type: string }) => event.type === 'CountermeasureLinked',
      );
      const retract = (eventId: string, reason: string) =>
        http()
          .post(`/api/v1/measures/${cnCode}/retractions`)
          .set(asEditor())
          .send({ eventId, reason, sources: [source] });
      const unlinked = await retract(link.eventId, 'Not an answer to it');
      expect(unlinked.status).toBe(200);
      await tick();
      const whileUnlinked = new Date().toISOString();
      await tick();
      const relinked = await retract(unlinked.body.eventIds[0], 'It was an answer after all');
      expect(relinked.status).toBe(200);
      await tick();
      const afterRelink = new Date().toISOString();
      const unlinkedThen = await read(`/api/v1/measures/${usCode}`, { knownAt: whileUnlinked });
      expect(unlinkedThen.body.countermeasures).toEqual([]);
      const relinkedThen = await read(`/api/v1/measures/${usCode}`, {
        knownAt: afterRelink,
        minPosition: relinked.body.position,
      });
      expect(relinkedThen.body.countermeasures).toEqual(reply);

      // A chain of any length: the retraction that revived the link retracted (struck again),
      // and that retraction retracted in turn (standing again, as it does now).
      await tick();
      const struckAgain = await retract(relinked.body.eventIds[0], 'It was not, after all');
      expect(struckAgain.status).toBe(200);
      await tick();
      const whileStruckAgain = new Date().toISOString();
      await tick();
      const revived = await retract(struckAgain.body.eventIds[0], 'It was, as first recorded');
      expect(revived.status).toBe(200);
      await tick();
      const afterRevival = new Date().toISOString();
      const countermeasuresKnownAt = async (knownAt: string) =>
        (
          await read(`/api/v1/measures/${usCode}`, {
            knownAt,
            minPosition: revived.body.position,
          })
        ).body.countermeasures;
      expect(await countermeasuresKnownAt(whileStruckAgain)).toEqual([]);
      expect(await countermeasuresKnownAt(afterRevival)).toEqual(reply);
      expect(await countermeasuresKnownAt(whileUnlinked)).toEqual([]);
      expect(await countermeasuresKnownAt(afterRelink)).toEqual(reply);
    });

    it('counts an event as known at the recordedAt the api reports for it', async () => {
      const code = `RECORDED-${suffix()}`;
      const { id } = await recordUsTariff(code);
      await amend(code, 70, '2025-08-01T04:00:00Z');
      const history = await read(`/api/v1/measures/${id}/events`);
      const fact = history.body.items[1];
      expect(fact.type).toBe('MeasureRateAmended');

      const asKnownThen = await read(`/api/v1/measures/${code}`, {
        asOf: '2025-09-01T00:00:00Z',
        knownAt: fact.recordedAt,
      });
      expect(asKnownThen.status).toBe(200);
      expect(asKnownThen.body).toMatchObject({ rate: { percent: 70 }, version: 2 });
    });

    it('refuses a bad instant (400), an unknown measure (404) and a missing key (401)', async () => {
      const bad = await read('/api/v1/measures/US-RECIPROCAL-CN', { asOf: 'yesterday' });
      expect(bad.status).toBe(400);
      expect(bad.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(bad.body).toMatchObject({ code: 'validation-failed' });
      expect(bad.body.errors).toContainEqual(expect.objectContaining({ field: 'asOf' }));

      for (const unknown of ['NO-SUCH-MEASURE', '7d0b3c8e-53f4-4f1c-9b4e-0d8b6b1f2a33']) {
        const missing = await read(`/api/v1/measures/${unknown}`);
        expect(missing.status).toBe(404);
        expect(missing.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(missing.body).toMatchObject({ code: 'measure-not-found', measure: unknown });
      }
      const missingHistory = await read('/api/v1/measures/NO-SUCH-MEASURE/events');
      expect(missingHistory.status).toBe(404);

      for (const url of [
        '/api/v1/measures',
        '/api/v1/measures/US-RECIPROCAL-CN',
        '/api/v1/agreements',
        '/api/v1/events',
      ]) {
        const anonymous = await http().get(url);
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(anonymous.body.code).toBe('unauthenticated');
      }
    });

    it('answers 503 not-caught-up when minPosition is not reached within the wait', async () => {
      // The measure-status projection cannot record its checkpoint while this lock is held:
      // the write is in the log, its read model stays behind it.
      const holder = await db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(
          `SELECT 1 FROM subscription_checkpoints WHERE name = 'projection:measure-status' FOR UPDATE`,
        );
        const recorded = await recordUsTariff(`LAG-${suffix()}`);
        const started = Date.now();
        const response = await read('/api/v1/measures/US-RECIPROCAL-CN', {
          minPosition: recorded.position,
        });
        expect(response.status).toBe(503);
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(response.headers['retry-after']).toBe('1');
        expect(response.body).toMatchObject({
          code: 'not-caught-up',
          minPosition: recorded.position,
        });
        expect(Date.now() - started).toBeLessThan(15_000);
      } finally {
        await holder.query('ROLLBACK');
        holder.release();
      }
    }, 30_000);

    it('refuses at once a minPosition beyond the head of the log, on every read that waits', async () => {
      const head = await feedHead();
      const beyond = head + 1_000_000;
      for (const [url, query] of [
        ['/api/v1/measures/US-RECIPROCAL-CN', {}],
        ['/api/v1/measures', {}],
        ['/api/v1/measures.csv', {}],
        ['/api/v1/agreements', {}],
        ['/api/v1/expiries', {}],
        ['/api/v1/timeline', {}],
        ['/api/v1/tariffs/summary', { imposingParty: 'US', targetParty: 'CN' }],
        ['/api/v1/alerts', {}],
      ] as const) {
        const response = await read(url, { ...query, minPosition: beyond });
        expect({ url, status: response.status }).toEqual({ url, status: 400 });
        expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
        expect({ url, body: response.body }).toMatchObject({
          url,
          body: { code: 'min-position-beyond-head', minPosition: beyond, head },
        });
        expect(response.body.detail).toContain(`head is at ${head}`);
      }
      // The head itself is no refusal: the read models have reached it (or are waited for).
      const atHead = await read('/api/v1/measures/US-RECIPROCAL-CN', { minPosition: head });
      expect(atHead.status).toBe(200);
    }, 30_000);
  });

  describe('conditional GET of a measure or an agreement', () => {
    const conditional = (url: string, query: Record<string, string>, ifNoneMatch: string) =>
      read(url, query).set('if-none-match', ifNoneMatch);

    it('answers 304 with no body while the ETag named in If-None-Match holds', async () => {
      const code = `COND-${suffix()}`;
      const recorded = await recordUsTariff(code);
      const url = `/api/v1/measures/${code}`;
      const onDate = { asOf: '2025-06-01T00:00:00Z' };
      const first = await read(url, { ...onDate, minPosition: String(recorded.position) });
      expect(first.status).toBe(200);
      const etag: string = first.headers.etag;
      expect(versionTagged(etag)).toBe(recorded.version);

      const strong = etag.replace(/^W\//, '');
      for (const ifNoneMatch of [etag, strong, '*', `"other", ${etag}`, ` W/"x" ,,${etag} `]) {
        const again = await conditional(url, onDate, ifNoneMatch);
        expect({ ifNoneMatch, status: again.status, etag: again.headers.etag }).toEqual({
          ifNoneMatch,
          status: 304,
          etag,
        });
        expect(again.text ?? '').toBe('');
        expect(again.headers['content-length']).toBeUndefined();
      }
      for (const ifNoneMatch of ['W/"1.other"', `${etag.slice(0, -2)}"`, 'not a tag list']) {
        const sent = await conditional(url, onDate, ifNoneMatch);
        expect({ ifNoneMatch, status: sent.status }).toEqual({ ifNoneMatch, status: 200 });
        // The same answer, but for the instant it was known at: now.
        expect(sent.body).toEqual({ ...first.body, knownAt: sent.body.knownAt });
      }
      // Another asOf or knownAt is another answer, whose tag differs.
      const otherDate = await conditional(url, { asOf: '2025-06-02T00:00:00Z' }, etag);
      expect(otherDate.status).toBe(200);
      expect(otherDate.headers.etag).not.toBe(etag);
      await tick();
      const knownAt = new Date().toISOString();
      const asKnown = await conditional(url, { ...onDate, knownAt }, etag);
      expect(asKnown.status).toBe(200);
      expect(asKnown.headers.etag).not.toBe(etag);
      expect(asKnown.body).toMatchObject({ knownAt, version: recorded.version });
      expect((await conditional(url, { ...onDate, knownAt }, asKnown.headers.etag)).status).toBe(
        304,
      );
      // Without asOf: the same tag while nothing changes with the date.
      const today = await read(url);
      expect((await conditional(url, {}, today.headers.etag)).status).toBe(304);
      expect(today.headers.etag).not.toBe(etag);

      // A write moves the version, and If-Match takes the tag of a read.
      const amended = await http()
        .post(`${url}/amendments`)
        .set(asEditor())
        .set('if-match', etag)
        .send({
          rate: { type: 'ad-valorem', percent: 45 },
          effectiveAt: '2025-05-01T04:00:00Z',
          sources: [source],
        });
      expect(amended.status).toBe(200);
      const stale = await http()
        .post(`${url}/amendments`)
        .set(asEditor())
        .set('if-match', etag)
        .send({
          rate: { type: 'ad-valorem', percent: 46 },
          effectiveAt: '2025-05-02T04:00:00Z',
          sources: [source],
        });
      expect(stale.status).toBe(412);
      const changed = await read(url, {
        ...onDate,
        minPosition: String(amended.body.position),
      }).set('if-none-match', etag);
      expect(changed.status).toBe(200);
      expect(changed.body.rate).toEqual({ type: 'ad-valorem', percent: 45 });
      expect(versionTagged(changed.headers.etag)).toBe(amended.body.version);

      // A countermeasure recorded against it changes the answer, not its stream's version.
      const answerCode = `COND-ANSWER-${suffix()}`;
      const answer = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send(cnCountermeasureBody(answerCode, { respondsTo: [code] }));
      expect(answer.status).toBe(201);
      const answered = await read(url, {
        ...onDate,
        minPosition: String(answer.body.position),
      }).set('if-none-match', changed.headers.etag);
      expect(answered.status).toBe(200);
      expect(answered.body.countermeasures).toEqual([{ id: answer.body.id, code: answerCode }]);
      expect(answered.body.version).toBe(changed.body.version);

      const missing = await conditional('/api/v1/measures/NO-SUCH-MEASURE', {}, '*');
      expect(missing.status).toBe(404);
    });

    it('changes the tag of a read without asOf when the date reaches a change of status', async () => {
      const code = `SOON-${suffix()}`;
      const takesEffect = new Date(Date.now() + 1500);
      const recorded = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code,
          title: `Test duty on products of China (${code})`,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          rate: { type: 'ad-valorem', percent: 10 },
          timeZone: 'America/New_York',
          announcedAt: new Date(Date.now() - 60_000).toISOString(),
          effectiveAt: takesEffect.toISOString(),
          sources: [source],
        });
      expect(recorded.status).toBe(201);
      const url = `/api/v1/measures/${code}`;
      const announced = await read(url, { minPosition: String(recorded.body.position) });
      expect(announced.body.status).toBe('announced');
      const etag: string = announced.headers.etag;
      expect((await conditional(url, {}, etag)).status).toBe(304);
      await new Promise((resolve) => setTimeout(resolve, takesEffect.getTime() - Date.now() + 50));
      const inForce = await conditional(url, {}, etag);
      expect(inForce.status).toBe(200);
      expect(inForce.body).toMatchObject({ status: 'in-force', version: announced.body.version });
      expect(inForce.headers.etag).not.toBe(etag);
    });

    it('answers 304 for an agreement on the same asOf, not on another', async () => {
      const url = '/api/v1/agreements/KL-2025';
      const onDate = { asOf: '2025-12-01T00:00:00Z' };
      const first = await read(url, { ...onDate, minPosition: String(seeded) });
      expect(first.status).toBe(200);
      const etag: string = first.headers.etag;
      expect(versionTagged(etag)).toBe(first.body.version);
      const again = await conditional(url, onDate, etag);
      expect({ status: again.status, etag: again.headers.etag, text: again.text ?? '' }).toEqual({
        status: 304,
        etag,
        text: '',
      });
      const before = await conditional(url, { asOf: '2025-10-01T00:00:00Z' }, etag);
      expect(before.status).toBe(200);
      expect(before.body.status).toBeNull();
      expect(before.headers.etag).not.toBe(etag);
      expect(
        (await conditional(url, { ...onDate, knownAt: first.body.knownAt }, etag)).status,
      ).toBe(200);
    });
  });

  describe('GET /api/v1/timeline', () => {
    it('shows a fact as known between the retractions of a chain: struck, back, struck again', async () => {
      const code = `TL-CHAIN-${suffix()}`;
      const { id } = await recordUsTariff(code);
      const fact = await amend(code, 55, '2025-07-15T04:00:00Z');
      const retract = async (eventId: string) => {
        await tick();
        const response = await http()
          .post(`/api/v1/measures/${id}/retractions`)
          .set(asEditor())
          .send({ eventId, reason: 'Reconsidered', sources: [source] });
        expect(response.status).toBe(200);
        await tick();
        return {
          eventId: response.body.eventIds[0] as string,
          position: response.body.position as number,
          after: new Date().toISOString(),
        };
      };
      await tick();
      const beforeAny = new Date().toISOString();
      const first = await retract(fact.eventIds[0]);
      const second = await retract(first.eventId);
      const third = await retract(second.eventId);
      const shown = async (knownAt?: string) => {
        const page = await read('/api/v1/timeline', {
          from: '2025-07-15',
          to: '2025-07-16',
          party: 'CN',
          limit: 200,
          minPosition: third.position,
          ...(knownAt ? { knownAt } : {}),
        });
        expect(page.status).toBe(200);
        return page.body.items.some(
          (item: { eventId: string }) => item.eventId === fact.eventIds[0],
        );
      };
      expect(await shown(beforeAny)).toBe(true);
      expect(await shown(first.after)).toBe(false);
      expect(await shown(second.after)).toBe(true);
      expect(await shown(third.after)).toBe(false);
      expect(await shown()).toBe(false);
    });
  });

  describe('GET /api/v1/measures', () => {
    it('pages through every US measure with nextCursor, none twice', async () => {
      const paged = await listAll({ imposingParty: 'US', limit: 2, minPosition: seeded });
      const ids = paged.map((item) => item.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(paged.every((item) => item.imposingParty === 'US')).toBe(true);
      const usCodes = datasetMeasures.filter((m) => m.imposingParty === 'US').map((m) => m.code);
      expect(paged.map((item) => item.code)).toEqual(expect.arrayContaining(usCodes));

      const onePage = await read('/api/v1/measures', { imposingParty: 'US', limit: 200 });
      expect(onePage.body.nextCursor).toBeNull();
      expect(ids).toEqual(onePage.body.items.map((item: { id: string }) => item.id));

      const first = await read('/api/v1/measures', { imposingParty: 'US', limit: 2 });
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
    });

    it('filters by target party, kind, status on asOf and text', async () => {
      const onCn = await listAll({ targetParty: 'CN', limit: 50, minPosition: seeded });
      expect(onCn.length).toBeGreaterThan(0);
      expect(onCn.every((item) => (item.targetParties as string[]).includes('CN'))).toBe(true);
      expect(onCn.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      expect(onCn.map((item) => item.code)).not.toContain('CN-TC-2025-4');

      const controls = await listAll({ kind: 'export-control', limit: 50 });
      expect(controls.every((item) => item.kind === 'export-control')).toBe(true);
      expect(controls.map((item) => item.code).sort()).toEqual(
        datasetMeasures
          .filter((m) => m.kind === 'export-control')
          .map((m) => m.code)
          .sort(),
      );

      const partly = await listAll({
        status: 'partially-suspended',
        asOf: '2026-06-01T00:00:00Z',
        limit: 3,
      });
      expect(partly.every((item) => item.status === 'partially-suspended')).toBe(true);
      expect(partly.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      const inForceLater = await listAll({
        status: 'in-force',
        asOf: '2026-12-01T00:00:00Z',
        limit: 50,
      });
      expect(inForceLater.every((item) => item.status === 'in-force')).toBe(true);
      expect(inForceLater.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      const inForceJune = await listAll({
        status: 'in-force',
        asOf: '2026-06-01T00:00:00Z',
        limit: 50,
      });
      expect(inForceJune.map((item) => item.code)).not.toContain('US-RECIPROCAL-CN');

      const text = await listAll({ q: 'RECIPROCAL', limit: 50 });
      expect(text.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      expect(
        text.every((item) =>
          [item.code, item.title, item.summary, item.instrument, item.legalBasis]
            .join(' ')
            .toLowerCase()
            .includes('reciprocal'),
        ),
      ).toBe(true);
      expect(await listAll({ q: 'no measure says this', limit: 50 })).toEqual([]);
      // Typed text, not a LIKE pattern: `%` and `_` match only themselves.
      const all = await listAll({ limit: 50 });
      for (const literal of ['%', '_']) {
        const found = await listAll({ q: literal, limit: 50 });
        expect(found.length).toBeLessThan(all.length);
        for (const item of found)
          expect(
            [item.code, item.title, item.summary, item.instrument, item.legalBasis].join(' '),
          ).toContain(literal);
      }

      const ending = await listAll({
        endsBefore: '2026-11-11T00:00:00Z',
        asOf: '2026-06-01T00:00:00Z',
        limit: 50,
      });
      expect(ending.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      for (const item of ending) {
        const end = (item.activeSuspension as { endsAt: string } | null)?.endsAt;
        expect(new Date(end ?? '9999-01-01').getTime()).toBeLessThan(
          Date.parse('2026-11-11T00:00:00Z'),
        );
      }
    });

    it('filters by the agreement a suspension implements, named by id or by code', async () => {
      const geneva = await read('/api/v1/agreements/GENEVA-2025', { minPosition: seeded });
      expect(geneva.status).toBe(200);
      const byId = await listAll({ agreement: geneva.body.id, limit: 50 });
      expect(byId.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
      expect(
        byId.every((item) => (item.agreements as string[]).includes(geneva.body.id as string)),
      ).toBe(true);

      const byCode = await listAll({ agreement: 'GENEVA-2025', limit: 50 });
      expect(byCode.map((item) => item.id)).toEqual(byId.map((item) => item.id));
    });

    it('counts the agreement that extended a suspension as one the measure implements', async () => {
      // Kuala Lumpur did not suspend the reciprocal tariffs anew: it extended Geneva's suspensions.
      const kl = await listAll({ agreement: 'KL-2025', limit: 50, minPosition: seeded });
      expect(kl.map((item) => item.code)).toEqual(
        expect.arrayContaining(['US-RECIPROCAL-CN', 'CN-TC-2025-4']),
      );
      const geneva = await listAll({ agreement: 'GENEVA-2025', limit: 50 });
      expect(geneva.map((item) => item.code)).toContain('US-RECIPROCAL-CN');
    });

    it('lists only what was known at knownAt, each measure as it was known then', async () => {
      const tag = suffix();
      const codes = { kept: `KEPT-${tag}`, amended: `AMENDED-${tag}`, late: `LATE-${tag}` };
      await recordUsTariff(codes.kept);
      await recordUsTariff(codes.amended);
      await tick();
      const before = new Date();
      await tick();
      await amend(codes.amended, 60, '2025-08-01T04:00:00Z');
      const recorded = await recordUsTariff(codes.late);
      const asOf = '2025-09-01T00:00:00Z';
      const now = await listAll({ q: tag, asOf, limit: 50, minPosition: recorded.position });
      expect(now.map((item) => item.code).sort()).toEqual([codes.amended, codes.kept, codes.late]);
      const then = await listAll({ q: tag, asOf, limit: 50, knownAt: before.toISOString() });
      expect(then.map((item) => item.code).sort()).toEqual([codes.amended, codes.kept]);
      const of = (items: typeof now, code: string) => items.find((item) => item.code === code);
      // Unchanged since: the same item as now. Amended since: as it stood before the amendment.
      expect(of(then, codes.kept)).toEqual(of(now, codes.kept));
      expect(of(then, codes.amended)).toMatchObject({ version: 1, rate: { percent: 34 } });
      expect(of(now, codes.amended)).toMatchObject({ version: 2, rate: { percent: 60 } });
    });

    it('keeps a measure whose creation was retracted in the list, the CSV and the tariff summary as known before', async () => {
      const tag = suffix();
      const code = `GONE-${tag}`;
      // A party pair of its own, so that the summary holds this measure only.
      const created = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code,
          title: `Test duty on products of New Zealand (${code})`,
          kind: 'tariff',
          imposingParty: 'AU',
          targetParties: ['NZ'],
          rate: { type: 'ad-valorem', percent: 7 },
          scope: { allProducts: true },
          timeZone: 'Australia/Sydney',
          effectiveAt: '2025-01-01T00:00:00Z',
          sources: [source],
        });
      expect(created.status).toBe(201);
      await tick();
      const before = new Date().toISOString();
      await tick();
      const retraction = await http()
        .post(`/api/v1/measures/${code}/retractions`)
        .set(asEditor())
        .send({ eventId: created.body.eventIds[0], reason: 'Never enacted', sources: [source] });
      expect(retraction.status).toBe(200);
      const asOf = '2025-06-01T00:00:00Z';
      const filters = { q: tag, imposingParty: 'AU', targetParty: 'NZ', kind: 'tariff', asOf };
      const summary = (query: Record<string, string | number>) =>
        read('/api/v1/tariffs/summary', { imposingParty: 'AU', targetParty: 'NZ', asOf, ...query });

      // From the retraction on, the measure is gone from every view.
      expect(await listAll({ ...filters, minPosition: retraction.body.position })).toEqual([]);
      const csvNow = await read('/api/v1/measures.csv', { q: tag, asOf });
      expect(csvNow.status).toBe(200);
      expect(csvNow.text).not.toContain(code);
      const summaryNow = await summary({});
      expect(summaryNow.body.economyWide).toEqual({
        measures: [],
        total: expect.objectContaining({ fullPercent: 0, adValoremMeasures: 0 }),
      });

      // As known before it, the measure stood, and every filter sees it as it stood then.
      const then = await listAll({ ...filters, knownAt: before });
      expect(then).toEqual([
        expect.objectContaining({
          code,
          status: 'in-force',
          rate: { type: 'ad-valorem', percent: 7 },
        }),
      ]);
      expect(await listAll({ q: tag, imposingParty: 'US', knownAt: before })).toEqual([]);
      const csvThen = await read('/api/v1/measures.csv', { q: tag, asOf, knownAt: before });
      expect(csvThen.text).toContain(code);
      const summaryThen = await summary({ knownAt: before });
      expect(summaryThen.status).toBe(200);
      expect(summaryThen.body.economyWide).toMatchObject({
        measures: [{ code, fullRate: { percent: 7 } }],
        total: { fullPercent: 7, adValoremMeasures: 1 },
      });
    });

    it('refuses a malformed cursor or status with 400', async () => {
      const queries: Record<string, string | number>[] = [
        { cursor: 'not-a-cursor' },
        { status: 'asleep' },
        { limit: 0 },
      ];
      for (const query of queries) {
        const response = await read('/api/v1/measures', query);
        expect(response.status).toBe(400);
        expect(response.body.code).toBe('validation-failed');
      }
    });
  });

  it('lists each source of a measure once, though several of its stages cite it', async () => {
    const page = await read('/api/v1/measures', { limit: 200 });
    expect(page.status).toBe(200);
    let cited = 0;
    for (const item of page.body.items as Array<{ id: string }>) {
      const detail = await read(`/api/v1/measures/${item.id}`);
      const sources = (detail.body.sources as object[]).map((source) => JSON.stringify(source));
      expect({ id: item.id, duplicates: sources.length - new Set(sources).size }).toEqual({
        id: item.id,
        duplicates: 0,
      });
      cited += sources.length;
    }
    expect(cited).toBeGreaterThan(0);
  });

  it('reports a knownAt in the future as now on every read, as it answers', async () => {
    const future = '2999-01-01T00:00:00.000Z';
    const before = Date.now();
    const answers = await Promise.all(
      [
        ['/api/v1/measures/US-RECIPROCAL-CN', {}],
        ['/api/v1/measures', {}],
        ['/api/v1/agreements/KL-2025', {}],
        ['/api/v1/agreements', {}],
        ['/api/v1/tariffs/summary', { imposingParty: 'US', targetParty: 'CN' }],
      ].map(async ([url, query]) => {
        const response = await read(url as string, { ...(query as object), knownAt: future });
        const knownAts = [
          response.body.knownAt,
          ...(response.body.items ?? []).map((item: { knownAt?: string }) => item.knownAt),
        ].filter((at): at is string => at !== undefined);
        return { url, status: response.status, knownAts };
      }),
    );
    for (const { url, status, knownAts } of answers) {
      expect({ url, status }).toEqual({ url, status: 200 });
      expect(knownAts.length).toBeGreaterThan(0);
      for (const at of knownAts) {
        expect({ url, at: Date.parse(at) >= before && Date.parse(at) <= Date.now() }).toEqual({
          url,
          at: true,
        });
      }
    }
  });

  it('refuses a cursor forged with an instant no list hands out (400, not a 500 from SQL)', async () => {
    const forged = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
    const id = '92a93601-27f2-41fb-9ab1-d8bb8766ec37';
    const pages: Array<[string, string]> = [
      ['/api/v1/timeline', forged(['-271821-04-20T00:00:00.000Z', '1'])],
      ['/api/v1/expiries', forged(['+010000-01-01T00:00:00.000Z', id, id])],
    ];
    for (const [path, cursor] of pages) {
      const response = await read(path, { cursor, from: '2020-01-01T00:00:00Z' });
      expect({ path, status: response.status, code: response.body.code }).toEqual({
        path,
        status: 400,
        code: 'validation-failed',
      });
    }
  });

  describe('a territory a scope includes', () => {
    it('finds the measure in the list, the expiries and the timeline of that territory', async () => {
      const code = `MACAO-${suffix()}`;
      const recorded = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code,
          title: `Test duty on products of China and Macao (${code})`,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          rate: { type: 'ad-valorem', percent: 15 },
          scope: { description: 'All products', inclusions: ['MO'], allProducts: true },
          timeZone: 'America/New_York',
          effectiveAt: '2025-03-01T05:00:00Z',
          sources: [source],
        });
      expect(recorded.status).toBe(201);
      const suspended = await http()
        .post(`/api/v1/measures/${code}/suspensions`)
        .set(asEditor())
        .send({
          startsAt: '2026-01-01T05:00:00Z',
          endsAt: '2031-01-01T05:00:00Z',
          sources: [source],
        });
      expect(suspended.status).toBe(201);
      const minPosition = suspended.body.position as number;

      const listed = await listAll({ targetParty: 'MO', q: code, minPosition });
      expect(listed.map((item) => item.code)).toEqual([code]);
      const expiries = await read('/api/v1/expiries', {
        targetParty: 'MO',
        from: '2031-01-01',
        to: '2031-01-02',
        minPosition,
      });
      expect(expiries.status).toBe(200);
      expect(
        expiries.body.items.map((item: { measure: { code: string } }) => item.measure.code),
      ).toEqual([code]);
      const timeline = await read('/api/v1/timeline', {
        party: 'MO',
        from: '2025-03-01',
        to: '2025-03-02',
        minPosition,
      });
      expect(
        timeline.body.items.map((item: { measure: { code: string } }) => item.measure.code),
      ).toContain(code);
    });
  });

  describe('a territory a scope takes in from a date', () => {
    it('lists the measure for that territory only with an asOf from that date, as known then too', async () => {
      const code = `HK-FROM-${suffix()}`;
      const recorded = await http()
        .post('/api/v1/measures')
        .set(asEditor())
        .send({
          code,
          title: `Test duty on products of China (${code})`,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          rate: { type: 'ad-valorem', percent: 20 },
          scope: { description: 'All products', allProducts: true },
          timeZone: 'America/New_York',
          effectiveAt: '2025-02-04T05:01:00Z',
          sources: [source],
        });
      expect(recorded.status).toBe(201);
      const widened = await http()
        .post(`/api/v1/measures/${code}/amendments`)
        .set(asEditor())
        .send({
          scope: { description: 'All products', allProducts: true, inclusions: ['HK'] },
          effectiveAt: '2025-05-02T04:01:00Z',
          sources: [source],
        });
      expect(widened.status).toBe(200);
      const minPosition = widened.body.position as number;
      const before = { asOf: '2025-04-01T00:00:00Z' };
      const after = { asOf: '2025-06-01T00:00:00Z' };
      const codesFor = async (query: Record<string, string | number>) =>
        (await listAll({ q: code, limit: 50, minPosition, ...query })).map((item) => item.code);

      expect(await codesFor({ targetParty: 'HK', ...before })).toEqual([]);
      expect(await codesFor({ targetParty: 'HK', ...after })).toEqual([code]);
      // Its target party, whatever the date.
      expect(await codesFor({ targetParty: 'CN', ...before })).toEqual([code]);
      const csv = async (query: Record<string, string>) => {
        const response = await read('/api/v1/measures.csv', {
          q: code,
          targetParty: 'HK',
          ...query,
        });
        expect(response.status).toBe(200);
        return response.text;
      };
      expect(await csv(before)).not.toContain(code);
      expect(await csv(after)).toContain(code);

      // As known once widened: from the row while nothing was recorded since, then folded from
      // the log once something was.
      await tick();
      const knownAt = new Date().toISOString();
      expect(await codesFor({ targetParty: 'HK', knownAt, ...before })).toEqual([]);
      expect(await codesFor({ targetParty: 'HK', knownAt, ...after })).toEqual([code]);
      await tick();
      const later = await amend(code, 25, '2025-09-01T04:01:00Z');
      const asKnownThen = { knownAt, minPosition: later.position };
      expect(await codesFor({ targetParty: 'HK', ...asKnownThen, ...before })).toEqual([]);
      expect(await codesFor({ targetParty: 'HK', ...asKnownThen, ...after })).toEqual([code]);
    });
  });

  describe('GET /api/v1/agreements', () => {
    it('shows Kuala Lumpur with its commitments and the Madrid agreement it reaffirms', async () => {
      const response = await read('/api/v1/agreements/KL-2025', {
        asOf: '2025-12-01T00:00:00Z',
        minPosition: seeded,
      });
      expect(response.status).toBe(200);
      expect(versionTagged(response.headers.etag)).toBe(response.body.version);
      expect(response.body).toMatchObject({
        code: 'KL-2025',
        parties: expect.arrayContaining(['US', 'CN']),
        reaffirms: [{ id: expect.any(String), code: 'MADRID-2025' }],
      });
      const maritime = response.body.commitments.find((commitment: { measures: unknown[] }) =>
        commitment.measures.some(
          (measure) => (measure as { code: string }).code === 'US-301-SHIP-FEE-CN-OPERATED',
        ),
      );
      expect(maritime).toMatchObject({ obligor: 'US', kind: 'suspend', status: 'fulfilled' });
      expect(maritime.measures.map((measure: { code: string }) => measure.code)).toEqual([
        'US-301-SHIP-FEE-CN-OPERATED',
        'US-301-SHIP-FEE-CN-BUILT',
        'US-301-SHIP-FEE-VEHICLE-CARRIERS',
      ]);
      const before = await read('/api/v1/agreements/KL-2025', { asOf: '2025-11-01T00:00:00Z' });
      const maritimeBefore = before.body.commitments.find(
        (commitment: { id: string }) => commitment.id === maritime.id,
      );
      expect(maritimeBefore.status).toBe('pending');

      const history = await read('/api/v1/agreements/KL-2025/events');
      expect(history.status).toBe(200);
      expect(history.body.items[0]).toMatchObject({ type: 'AgreementConcluded', retracted: null });

      const missing = await read('/api/v1/agreements/NO-SUCH-AGREEMENT');
      expect(missing.status).toBe(404);
      expect(missing.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(missing.body.code).toBe('agreement-not-found');
    });

    it('lists the three agreements of the dataset, with cursor pagination', async () => {
      const all = await read('/api/v1/agreements', { minPosition: seeded });
      expect(all.status).toBe(200);
      expect(all.body.nextCursor).toBeNull();
      expect(all.body.items.map((item: { code: string }) => item.code).sort()).toEqual([
        'GENEVA-2025',
        'KL-2025',
        'MADRID-2025',
      ]);

      const first = await read('/api/v1/agreements', { limit: 2 });
      expect(first.body.items).toHaveLength(2);
      expect(first.body.nextCursor).toEqual(expect.any(String));
      const second = await read('/api/v1/agreements', { limit: 2, cursor: first.body.nextCursor });
      expect(second.body.items).toHaveLength(1);
      expect(second.body.nextCursor).toBeNull();
      expect(
        [...first.body.items, ...second.body.items].map((item: { id: string }) => item.id),
      ).toEqual(all.body.items.map((item: { id: string }) => item.id));
    });

    it('lists only what was known at knownAt, as the detail reads it', async () => {
      // The dataset was recorded during this run: before it, nothing was known.
      const before = await read('/api/v1/agreements', { knownAt: '2020-01-01T00:00:00Z' });
      expect(before.status).toBe(200);
      expect(before.body.items).toEqual([]);
      const detail = await read('/api/v1/agreements/KL-2025', { knownAt: '2020-01-01T00:00:00Z' });
      expect(detail.status).toBe(404);

      const knownAt = new Date(Date.now() - 1).toISOString();
      const then = await read('/api/v1/agreements', { knownAt, minPosition: seeded });
      expect(then.body.items.map((item: { code: string }) => item.code).sort()).toEqual([
        'GENEVA-2025',
        'KL-2025',
        'MADRID-2025',
      ]);
      expect(then.body.items.every((item: { knownAt: string }) => item.knownAt === knownAt)).toBe(
        true,
      );
    });

    it('lists an agreement whose conclusion was retracted as known before the retraction', async () => {
      const code = `RETRACTED-${suffix()}`;
      const concluded = await http()
        .post('/api/v1/agreements')
        .set(asEditor())
        .send({
          code,
          title: `Test arrangement (${code})`,
          parties: ['AU', 'NZ'],
          concludedAt: '2025-03-01T00:00:00Z',
          sources: [source],
        });
      expect(concluded.status).toBe(201);
      await tick();
      const before = new Date().toISOString();
      await tick();
      const retraction = await http()
        .post(`/api/v1/agreements/${code}/retractions`)
        .set(asEditor())
        .send({ eventId: concluded.body.eventIds[0], reason: 'Never signed', sources: [source] });
      expect(retraction.status).toBe(200);

      const codes = (response: request.Response) =>
        response.body.items.map((item: { code: string }) => item.code);
      const now = await read('/api/v1/agreements', {
        party: 'NZ',
        minPosition: retraction.body.position,
      });
      expect(codes(now)).toEqual([]);
      const then = await read('/api/v1/agreements', { party: 'NZ', knownAt: before });
      expect(codes(then)).toEqual([code]);
    });

    it('shows an agreement on a date before its conclusion as a measure before its first stage', async () => {
      // A measure on a date before anything about it took effect: listed and shown, status null.
      const early = '2020-01-01T00:00:00Z';
      const measure = await read('/api/v1/measures/US-RECIPROCAL-CN', { asOf: early });
      expect(measure.status).toBe(200);
      expect(measure.body).toMatchObject({ status: null, rate: null, activeSuspension: null });
      expect(await listAll({ q: 'US-RECIPROCAL-CN', asOf: early, limit: 50 })).toContainEqual(
        expect.objectContaining({ code: 'US-RECIPROCAL-CN', status: null }),
      );

      // Kuala Lumpur was concluded in late October 2025; Geneva in May.
      const before = { asOf: '2025-10-01T00:00:00Z', minPosition: seeded };
      const after = { asOf: '2025-12-01T00:00:00Z' };
      const statuses = (agreement: { commitments: Array<{ status: string | null }> }) =>
        agreement.commitments.map((commitment) => commitment.status);
      const klBefore = await read('/api/v1/agreements/KL-2025', before);
      expect(klBefore.status).toBe(200);
      expect(klBefore.body).toMatchObject({ code: 'KL-2025', status: null });
      expect(statuses(klBefore.body).length).toBeGreaterThan(0);
      expect(new Set(statuses(klBefore.body))).toEqual(new Set([null]));
      const klAfter = await read('/api/v1/agreements/KL-2025', after);
      expect(klAfter.body.status).toBe('concluded');
      expect(statuses(klAfter.body)).not.toContain(null);

      const listed = await read('/api/v1/agreements', before);
      expect(listed.status).toBe(200);
      const byCode = new Map(
        listed.body.items.map((item: { code: string }) => [item.code, item] as const),
      );
      expect(byCode.get('KL-2025')).toMatchObject({ status: null });
      expect(new Set(statuses(byCode.get('KL-2025') as never))).toEqual(new Set([null]));
      expect(byCode.get('GENEVA-2025')).toMatchObject({ status: 'concluded' });

      // As known at a past time (the detail and the list alike), on either side of the date.
      const code = `LATER-${suffix()}`;
      const concluded = await http()
        .post('/api/v1/agreements')
        .set(asEditor())
        .send({
          code,
          title: `Test arrangement (${code})`,
          parties: ['AU', 'NZ'],
          concludedAt: '2025-03-01T00:00:00Z',
          sources: [source],
        });
      expect(concluded.status).toBe(201);
      const committed = await http()
        .post(`/api/v1/agreements/${code}/commitments`)
        .set(asEditor())
        .send({ obligor: 'AU', kind: 'purchase', text: 'Buy kiwifruit', sources: [source] });
      expect(committed.status).toBe(201);
      await tick();
      const knownAt = new Date().toISOString();
      const asKnown = async (asOf: string, minPosition: number) => {
        const query = { asOf, knownAt, minPosition };
        const detail = await read(`/api/v1/agreements/${code}`, query);
        expect(detail.status).toBe(200);
        const page = await read('/api/v1/agreements', { ...query, party: 'NZ', limit: 200 });
        const item = page.body.items.find((candidate: { code: string }) => candidate.code === code);
        expect(item).toEqual(detail.body);
        return [detail.body.status, ...statuses(detail.body)];
      };
      const expectAsKnown = async (minPosition: number) => {
        expect(await asKnown('2025-02-01T00:00:00Z', minPosition)).toEqual([null, null]);
        expect(await asKnown('2025-04-01T00:00:00Z', minPosition)).toEqual([
          'concluded',
          'pending',
        ]);
      };
      await expectAsKnown(committed.body.position);
      // A commitment recorded since is not known then.
      const since = await http()
        .post(`/api/v1/agreements/${code}/commitments`)
        .set(asEditor())
        .send({ obligor: 'NZ', kind: 'purchase', text: 'Buy wheat', sources: [source] });
      expect(since.status).toBe(201);
      await expectAsKnown(since.body.position);
    });
  });

  describe('GET /api/v1/events', () => {
    it('pages through the global feed in position order with nextCursor', async () => {
      const positions: number[] = [];
      let after = 0;
      for (;;) {
        const page = await read('/api/v1/events', { after, limit: 50 });
        expect(page.status).toBe(200);
        expect(page.body.items.length).toBeLessThanOrEqual(50);
        if (!page.body.items.length) {
          expect(page.body.nextCursor).toBe(after);
          break;
        }
        expect(page.body.items[0]).toEqual(
          expect.objectContaining({
            position: expect.any(Number),
            eventId: expect.any(String),
            streamId: expect.any(String),
            version: expect.any(Number),
            type: expect.any(String),
            recordedAt: expect.any(String),
          }),
        );
        positions.push(...page.body.items.map((item: { position: number }) => item.position));
        expect(page.body.nextCursor).toBe(positions[positions.length - 1]);
        after = page.body.nextCursor;
      }
      expect(positions[positions.length - 1]).toBeGreaterThanOrEqual(seeded);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(positions.length);
      const { rows } = await db.pool.query<{ count: string }>(
        'SELECT count(*) AS count FROM events',
      );
      expect(positions).toHaveLength(Number(rows[0].count));

      const bad = await read('/api/v1/events', { after: -1 });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('validation-failed');
    });
  });

  describe('GET /api/v1/{measures,agreements}/{idOrCode}/events after a version', () => {
    interface HistoryItem {
      eventId: string;
      version: number;
      type: string;
      retracted: { by: string } | null;
    }
    interface HistoryPage {
      items: HistoryItem[];
      nextCursor: number | null;
    }

    /** Every page of a stream's history, following `nextCursor` from `after=0`. */
    async function historyPages(url: string, limit: number): Promise<HistoryPage[]> {
      const pages: HistoryPage[] = [];
      let after: number | null = 0;
      while (after !== null) {
        const response = await read(url, { after, limit });
        expect(response.status).toBe(200);
        const page = response.body as HistoryPage;
        expect(page.items.length).toBeLessThanOrEqual(limit);
        pages.push(page);
        after = page.nextCursor;
        expect(pages.length).toBeLessThan(100);
      }
      return pages;
    }

    it('pages a measure’s history by version, marking an event struck by a retraction on a later page', async () => {
      const code = `HISTORY-${suffix()}`;
      const { id } = await recordUsTariff(code);
      await amend(code, 40, '2025-06-01T04:00:00Z');
      await amend(code, 45, '2025-07-01T04:00:00Z');
      const whole = await read(`/api/v1/measures/${code}/events`);
      expect(whole.status).toBe(200);
      const struck = (whole.body as HistoryPage).items[1];
      expect(struck).toMatchObject({ version: 2, type: 'MeasureRateAmended', retracted: null });
      const retraction = await http()
        .post(`/api/v1/measures/${id}/retractions`)
        .set(asEditor())
        .send({ eventId: struck.eventId, reason: 'Misread', sources: [source] });
      expect(retraction.status).toBe(200);

      const history = (await read(`/api/v1/measures/${code}/events`)).body as HistoryPage;
      expect(history.items.map((event) => event.version)).toEqual([1, 2, 3, 4]);
      expect(history.nextCursor).toBeNull();

      const pages = await historyPages(`/api/v1/measures/${code}/events`, 3);
      expect(pages.map((page) => page.items.map((event) => event.version))).toEqual([
        [1, 2, 3],
        [4],
      ]);
      expect(pages.map((page) => page.nextCursor)).toEqual([3, null]);
      // The retraction is on the second page; the event it strikes, on the first, says so.
      expect(pages[0].items[1].retracted).toMatchObject({ by: retraction.body.eventIds[0] });
      expect(pages.flatMap((page) => page.items)).toEqual(history.items);

      // What a client holding version 2 asks for: the rest, by id as by code.
      for (const measure of [code, id]) {
        const rest = await read(`/api/v1/measures/${measure}/events`, { after: 2 });
        expect({ status: rest.status, body: rest.body }).toEqual({
          status: 200,
          body: { items: history.items.slice(2), nextCursor: null },
        });
      }
      // Nothing after the last version yet: an empty page, not a 404.
      const current = await read(`/api/v1/measures/${code}/events`, { after: 4, limit: 10 });
      expect({ status: current.status, body: current.body }).toEqual({
        status: 200,
        body: { items: [], nextCursor: null },
      });
    });

    it('pages an agreement’s history the same way', async () => {
      const whole = await read('/api/v1/agreements/KL-2025/events');
      expect(whole.status).toBe(200);
      const history = whole.body as HistoryPage;
      expect(history.nextCursor).toBeNull();
      expect(history.items.length).toBeGreaterThan(1);
      const pages = await historyPages('/api/v1/agreements/KL-2025/events', 1);
      expect(pages.map((page) => page.nextCursor)).toEqual([
        ...history.items.slice(0, -1).map((event) => event.version),
        null,
      ]);
      expect(pages.flatMap((page) => page.items)).toEqual(history.items);
      const rest = await read('/api/v1/agreements/KL-2025/events', { after: 1 });
      expect(rest.body).toEqual({ items: history.items.slice(1), nextCursor: null });
    });

    it('documents after and limit, and the 400, in the OpenAPI document', async () => {
      const document = (await http().get('/api/openapi.json')).body as {
        paths: Record<
          string,
          { get: { parameters: Array<Record<string, unknown>>; responses: object } }
        >;
      };
      for (const path of [
        '/api/v1/measures/{measure}/events',
        '/api/v1/agreements/{agreement}/events',
      ]) {
        const operation = document.paths[path].get;
        const query = operation.parameters.filter((parameter) => parameter.in === 'query');
        expect(query.map((parameter) => [parameter.name, parameter.required])).toEqual([
          ['after', false],
          ['limit', false],
        ]);
        expect(query[1].schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000 });
        expect(operation.responses).toHaveProperty('400');
      }
    });

    it('refuses a malformed after or limit with 400 validation-failed naming it', async () => {
      const measure = datasetMeasures[0].code;
      for (const url of [
        `/api/v1/measures/${measure}/events`,
        '/api/v1/agreements/KL-2025/events',
      ]) {
        for (const [query, field] of [
          [{ after: 'abc' }, 'after'],
          [{ after: -1 }, 'after'],
          [{ after: '1.5' }, 'after'],
          [{ limit: 0 }, 'limit'],
          [{ limit: 1001 }, 'limit'],
          [{ limit: 'ten' }, 'limit'],
          [{ cursor: 'abc' }, 'cursor'],
        ] as const) {
          const response = await read(url, query);
          expect({
            url,
            query,
            status: response.status,
            type: response.headers['content-type'],
            code: response.body.code,
          }).toEqual({
            url,
            query,
            status: 400,
            type: expect.stringMatching(PROBLEM_JSON),
            code: 'validation-failed',
          });
          expect(response.body.errors).toContainEqual(expect.objectContaining({ field }));
        }
      }
      const missing = await read('/api/v1/measures/NO-SUCH-MEASURE/events', { after: 1 });
      expect({ status: missing.status, code: missing.body.code }).toEqual({
        status: 404,
        code: 'measure-not-found',
      });
    });
  });
});
