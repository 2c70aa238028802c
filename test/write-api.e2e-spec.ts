import type { RecordedEvent } from '@app/event-store';
import { eventually } from '@app/testing';
import type request from 'supertest';
import {
  PROBLEM_JSON,
  agreementBody,
  bearer,
  cnCountermeasureBody,
  source,
  startWriteApi,
  suffix,
  usTariffBody,
  type ApiKeyCreated,
  type WriteApiHarness,
} from './support/write-api';
import { reversedKeys } from './support/reversed-keys';

/**
 * SPEC §4: `{ id, version, position, eventIds, … }`, with `ETag` = the stream's version.
 * `status` undefined: any 2xx (where another test pins the status down).
 */
function expectWrite(response: request.Response, status: 200 | 201 | undefined, version: number) {
  expect({ status: response.status, body: response.body }).toMatchObject({
    status: status ?? expect.any(Number),
    body: { id: expect.any(String), version, position: expect.any(Number) },
  });
  expect(response.status).toBeGreaterThanOrEqual(200);
  expect(response.status).toBeLessThan(300);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(response.headers.etag).toBe(`"${version}"`);
  expect(response.body.eventIds).toEqual(expect.arrayContaining([expect.any(String)]));
  return response.body as {
    id: string;
    version: number;
    position: number;
    eventIds: string[];
    suspensionId?: string;
    exclusionId?: string;
    commitmentId?: string;
    claimId?: string;
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('write API, end to end', () => {
  let api: WriteApiHarness;
  let editor: ApiKeyCreated;
  let otherEditor: ApiKeyCreated;
  let viewer: ApiKeyCreated;
  const post = (path: string, key: ApiKeyCreated | string = editor) =>
    api
      .http()
      .post(path)
      .set(bearer(typeof key === 'string' ? key : key.key));

  beforeAll(async () => {
    api = await startWriteApi('e2e_write_api');
    [editor, otherEditor, viewer] = await Promise.all([
      api.createKey('editor'),
      api.createKey('editor'),
      api.createKey('viewer'),
    ]);
  });
  afterAll(async () => {
    await api?.close();
  });

  /**
   * The events a write appended: exactly the ids it answered, in order, of these types, each
   * recorded with the acting key's name and its sources.
   */
  async function appended(
    streamId: string,
    write: { eventIds: string[]; version: number; position: number },
    types: string[],
    actor = editor.name,
  ): Promise<RecordedEvent[]> {
    const stream = await api.readStream(streamId);
    expect(stream.at(-1)?.version).toBe(write.version);
    const events = stream.slice(stream.length - write.eventIds.length);
    expect(events.map((event) => event.eventId)).toEqual(write.eventIds);
    expect(events.map((event) => event.type)).toEqual(types);
    expect(events.at(-1)?.position).toBe(write.position);
    for (const event of events) {
      expect(event.metadata.actor).toBe(actor);
      expect(event.metadata.sources).toEqual(event.payload.sources);
      expect((event.payload.sources as unknown[]).length).toBeGreaterThan(0);
    }
    return events;
  }

  /** A US tariff at 34% in force from 2025-04-09, by a code of its own. */
  async function recordUsTariff(overrides: Record<string, unknown> = {}) {
    const code = `US-RECIP-${suffix()}`;
    const response = await post('/api/v1/measures').send(usTariffBody(code, overrides));
    const write = expectWrite(response, 201, 2);
    return { code, id: write.id, write };
  }

  function suspend(
    measure: string,
    body: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    return post(`/api/v1/measures/${measure}/suspensions`)
      .set(headers)
      .send({ sources: [source('Executive order modifying the reciprocal rate')], ...body });
  }

  describe('POST /api/v1/measures', () => {
    it('records a measure: 201, ETag = version, Location, and its events with actor and sources', async () => {
      const code = `US-RECIP-${suffix()}`;
      const body = usTariffBody(code);
      const response = await post('/api/v1/measures').send(body);

      const write = expectWrite(response, 201, 2);
      expect(write.id).toMatch(UUID);
      expect(response.body).toEqual({
        id: write.id,
        version: 2,
        position: expect.any(Number),
        eventIds: [expect.stringMatching(UUID), expect.stringMatching(UUID)],
        replayed: false,
      });
      expect(response.headers.location).toBe(`/api/v1/measures/${write.id}`);

      const [announced, implemented] = await appended(`measure-${write.id}`, write, [
        'MeasureAnnounced',
        'MeasureImplemented',
      ]);
      expect(announced.version).toBe(1);
      expect(announced.payload).toEqual({
        measureId: write.id,
        measure: {
          code,
          title: body.title,
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          legalBasis: 'IEEPA',
          instrument: 'EO 14257',
          rate: { type: 'ad-valorem', percent: 34 },
          scope: { description: 'All products of China', hsCodes: ['8501', '8541'] },
          timeZone: 'America/New_York',
        },
        effectiveAt: '2025-04-02T20:00:00.000Z',
        sources: [source()],
      });
      expect(implemented.payload).toEqual({
        measureId: write.id,
        effectiveAt: '2025-04-09T04:01:00.000Z',
        sources: [source()],
      });

      const { rows } = await api.db.pool.query(
        'SELECT aggregate_id, code FROM stream_codes WHERE kind = $1 AND normalized_code = $2',
        ['measure', code.toUpperCase()],
      );
      expect(rows).toEqual([{ aggregate_id: write.id, code }]);
    });

    it('records a threatened-only measure as one MeasureThreatened event', async () => {
      const code = `US-THREAT-${suffix()}`;
      const response = await post('/api/v1/measures').send(
        usTariffBody(code, {
          announcedAt: undefined,
          effectiveAt: undefined,
          threatenedAt: '2025-10-10T19:00:00Z',
          rate: { type: 'ad-valorem', percent: 100 },
        }),
      );
      const write = expectWrite(response, 201, 1);
      const [threatened] = await appended(`measure-${write.id}`, write, ['MeasureThreatened']);
      expect(threatened.payload).toMatchObject({
        measureId: write.id,
        effectiveAt: '2025-10-10T19:00:00.000Z',
        measure: { code, rate: { type: 'ad-valorem', percent: 100 } },
      });
    });

    it('links a countermeasure to the measures it responds to (by code and by UUID)', async () => {
      const first = await recordUsTariff();
      const second = await recordUsTariff();
      const code = `CN-CTR-${suffix()}`;
      const response = await post('/api/v1/measures').send(
        cnCountermeasureBody(code, { respondsTo: [first.code, second.id] }),
      );
      const write = expectWrite(response, 201, 3);
      const events = await appended(`measure-${write.id}`, write, [
        'MeasureImplemented',
        'CountermeasureLinked',
        'CountermeasureLinked',
      ]);
      expect(events.slice(1).map((event) => event.payload.respondsTo)).toEqual([
        first.id,
        second.id,
      ]);
      expect(events[1].payload.effectiveAt).toBe('2025-04-10T04:01:00.000Z');
    });
  });

  describe('measure routes, with {id} as the UUID or the code', () => {
    it('amendments: the rate by code, the rate and scope by UUID', async () => {
      const { id, code } = await recordUsTariff();

      const byCode = await post(`/api/v1/measures/${code}/amendments`).send({
        rate: { type: 'ad-valorem', percent: 84 },
        effectiveAt: '2025-04-09T04:01:00Z',
        sources: [source('EO 14259')],
      });
      const rateWrite = expectWrite(byCode, 200, 3);
      expect(rateWrite.id).toBe(id);
      expect(byCode.headers.location).toBeUndefined();
      const [rate] = await appended(`measure-${id}`, rateWrite, ['MeasureRateAmended']);
      expect(rate.payload).toEqual({
        rate: { type: 'ad-valorem', percent: 84 },
        effectiveAt: '2025-04-09T04:01:00.000Z',
        sources: [source('EO 14259')],
      });

      const byId = await post(`/api/v1/measures/${id}/amendments`).send({
        rate: { type: 'ad-valorem', percent: 34 },
        scope: { description: 'All products of China, Hong Kong and Macau', inclusions: ['HK'] },
        effectiveAt: '2025-05-14T04:01:00-00:00',
        sources: [source('EO 14298')],
      });
      const both = expectWrite(byId, 200, 5);
      const [rateAgain, scope] = await appended(`measure-${id}`, both, [
        'MeasureRateAmended',
        'MeasureScopeAmended',
      ]);
      expect(rateAgain.payload.rate).toEqual({ type: 'ad-valorem', percent: 34 });
      expect(scope.payload).toEqual({
        scope: { description: 'All products of China, Hong Kong and Macau', inclusions: ['HK'] },
        effectiveAt: '2025-05-14T04:01:00.000Z',
        sources: [source('EO 14298')],
      });
    });

    it('suspensions: 201 with suspensionId; P1Y from 2025-11-10 00:01 New York time ends 2026-11-10 00:01 there', async () => {
      const { id, code } = await recordUsTariff();
      const response = await suspend(code, {
        startsAt: '2025-11-10T05:01:00Z',
        duration: 'P1Y',
        part: { percentPoints: 24 },
        reinstatesAutomatically: true,
      });
      const write = expectWrite(response, 201, 4);
      expect(write.id).toBe(id);
      expect(write.suspensionId).toMatch(UUID);
      expect(response.headers.location).toBe(`/api/v1/measures/${id}`);

      const [scheduled, started] = await appended(`measure-${id}`, write, [
        'SuspensionScheduled',
        'SuspensionStarted',
      ]);
      expect(scheduled.payload).toEqual({
        suspensionId: write.suspensionId,
        startsAt: '2025-11-10T05:01:00.000Z',
        endsAt: '2026-11-10T05:01:00.000Z',
        duration: 'P1Y',
        part: { percentPoints: 24 },
        reinstatesAutomatically: true,
        effectiveAt: '2025-11-10T05:01:00.000Z',
        sources: [source('Executive order modifying the reciprocal rate')],
      });
      expect(started.payload).toEqual({
        suspensionId: write.suspensionId,
        startsAt: '2025-11-10T05:01:00.000Z',
        endsAt: '2026-11-10T05:01:00.000Z',
        effectiveAt: '2025-11-10T05:01:00.000Z',
        sources: [source('Executive order modifying the reciprocal rate')],
      });
    });

    it('suspensions by UUID: a duration follows the measure’s clock across daylight saving time', async () => {
      const { id } = await recordUsTariff();
      // 00:01 EDT on 14 May; six months later is 00:01 EST on 14 Nov (05:01Z, not 04:01Z).
      const write = expectWrite(
        await suspend(id, { startsAt: '2025-05-14T04:01:00Z', duration: 'P6M' }),
        201,
        4,
      );
      const [scheduled, started] = await appended(`measure-${id}`, write, [
        'SuspensionScheduled',
        'SuspensionStarted',
      ]);
      expect(scheduled.payload).toMatchObject({ endsAt: '2025-11-14T05:01:00.000Z' });
      expect(scheduled.payload).not.toHaveProperty('part');
      expect(started.payload).toMatchObject({ endsAt: '2025-11-14T05:01:00.000Z' });
    });

    it('suspensions with startsWhen: a countermeasure’s suspension starts when the one it waits for does', async () => {
      const us = await recordUsTariff();
      const usSuspension = expectWrite(
        await suspend(us.code, {
          startsAt: '2025-11-10T05:01:00Z',
          endsAt: '2026-11-10T05:01:00Z',
          part: { percentPoints: 24 },
        }),
        201,
        4,
      );

      const cnCode = `CN-CTR-${suffix()}`;
      const cn = expectWrite(
        await post('/api/v1/measures').send(
          cnCountermeasureBody(cnCode, { respondsTo: [us.code] }),
        ),
        201,
        2,
      );
      const response = await suspend(cnCode, {
        startsWhen: { measure: us.code, suspension: usSuspension.suspensionId },
        duration: 'P1Y',
        reinstatesAutomatically: false,
        sources: [source('Customs Tariff Commission announcement')],
      });
      const write = expectWrite(response, 201, 4);
      const [scheduled, started] = await appended(`measure-${cn.id}`, write, [
        'SuspensionScheduled',
        'SuspensionStarted',
      ]);
      expect(scheduled.payload).toMatchObject({
        suspensionId: write.suspensionId,
        startsWhen: { measure: us.id, suspension: usSuspension.suspensionId },
        duration: 'P1Y',
        reinstatesAutomatically: false,
      });
      expect(scheduled.payload).not.toHaveProperty('startsAt');
      // Already in effect: starts at the same instant; one year counted in Beijing time.
      expect(started.payload).toMatchObject({
        suspensionId: write.suspensionId,
        startsAt: '2025-11-10T05:01:00.000Z',
        endsAt: '2026-11-10T05:01:00.000Z',
      });
    });

    it('extensions: to a new endsAt by code, by a duration by UUID', async () => {
      const { id, code } = await recordUsTariff();
      const { suspensionId } = expectWrite(
        await suspend(id, {
          startsAt: '2025-05-14T04:01:00Z',
          duration: 'P90D',
          part: { percentPoints: 24 },
        }),
        201,
        4,
      );
      const byCode = await post(
        `/api/v1/measures/${code}/suspensions/${suspensionId}/extensions`,
      ).send({
        endsAt: '2025-11-10T05:01:00Z',
        effectiveAt: '2025-08-11T20:00:00Z',
        sources: [source('EO 14334')],
      });
      const first = expectWrite(byCode, 200, 5);
      const [extended] = await appended(`measure-${id}`, first, ['SuspensionExtended']);
      expect(extended.payload).toEqual({
        suspensionId,
        endsAt: '2025-11-10T05:01:00.000Z',
        previousEndsAt: '2025-08-12T04:01:00.000Z',
        effectiveAt: '2025-08-11T20:00:00.000Z',
        sources: [source('EO 14334')],
      });

      const byId = await post(`/api/v1/measures/${id}/suspensions/${suspensionId}/extensions`).send(
        { duration: 'P1Y', effectiveAt: '2025-11-04T20:00:00Z', sources: [source('EO 14358')] },
      );
      const second = expectWrite(byId, 200, 6);
      const [again] = await appended(`measure-${id}`, second, ['SuspensionExtended']);
      expect(again.payload).toMatchObject({
        suspensionId,
        endsAt: '2026-11-10T05:01:00.000Z',
        previousEndsAt: '2025-11-10T05:01:00.000Z',
        extendedBy: 'P1Y',
      });
    });

    it('lifting: ends an active suspension early, by code', async () => {
      const { id, code } = await recordUsTariff();
      const { suspensionId } = expectWrite(
        await suspend(code, { startsAt: '2025-05-14T04:01:00Z', endsAt: '2026-05-14T04:01:00Z' }),
        201,
        4,
      );
      const response = await post(
        `/api/v1/measures/${code}/suspensions/${suspensionId}/lifting`,
      ).send({ effectiveAt: '2025-10-01T04:00:00Z', sources: [source('Proclamation')] });
      const write = expectWrite(response, 200, 5);
      const [lifted] = await appended(`measure-${id}`, write, ['SuspensionLifted']);
      expect(lifted.payload).toEqual({
        suspensionId,
        effectiveAt: '2025-10-01T04:00:00.000Z',
        sources: [source('Proclamation')],
      });
    });

    it('exclusions: 201 with exclusionId by UUID; extended by code', async () => {
      const { id, code } = await recordUsTariff();
      const granted = await post(`/api/v1/measures/${id}/exclusions`).send({
        description: 'Solar manufacturing equipment',
        hsCodes: ['8486.10'],
        effectiveAt: '2025-06-01T04:00:00Z',
        endsAt: '2025-11-30T05:00:00Z',
        sources: [source('USTR exclusion notice')],
      });
      const grant = expectWrite(granted, 201, 3);
      expect(grant.exclusionId).toMatch(UUID);
      expect(granted.headers.location).toBe(`/api/v1/measures/${id}`);
      const [grantedEvent] = await appended(`measure-${id}`, grant, ['ExclusionGranted']);
      expect(grantedEvent.payload).toEqual({
        exclusionId: grant.exclusionId,
        description: 'Solar manufacturing equipment',
        hsCodes: ['8486.10'],
        effectiveAt: '2025-06-01T04:00:00.000Z',
        endsAt: '2025-11-30T05:00:00.000Z',
        sources: [source('USTR exclusion notice')],
      });

      const extended = await post(
        `/api/v1/measures/${code}/exclusions/${grant.exclusionId}/extensions`,
      ).send({ endsAt: '2026-11-10T05:01:00Z', sources: [source('USTR extension notice')] });
      const extension = expectWrite(extended, 200, 4);
      const [event] = await appended(`measure-${id}`, extension, ['ExclusionExtended']);
      expect(event.payload).toMatchObject({
        exclusionId: grant.exclusionId,
        endsAt: '2026-11-10T05:01:00.000Z',
        previousEndsAt: '2025-11-30T05:00:00.000Z',
      });
    });

    it('claims: one party’s account, with claimId, by code and by UUID', async () => {
      const { id, code } = await recordUsTariff();
      const byCode = await post(`/api/v1/measures/${code}/claims`).send({
        party: 'CN',
        statement: 'The additional 10% is removed.',
        about: 'rate',
        effectiveAt: '2025-11-10T05:01:00Z',
        sources: [source('MOFCOM statement')],
      });
      const claim = expectWrite(byCode, 201, 3);
      expect(claim.claimId).toMatch(UUID);
      const [recorded] = await appended(`measure-${id}`, claim, ['PartyClaimRecorded']);
      expect(recorded.payload).toEqual({
        claimId: claim.claimId,
        party: 'CN',
        statement: 'The additional 10% is removed.',
        about: 'rate',
        effectiveAt: '2025-11-10T05:01:00.000Z',
        sources: [source('MOFCOM statement')],
      });

      const byId = await post(`/api/v1/measures/${id}/claims`).send({
        party: 'US',
        statement: 'The rate is reduced from 20% to 10%.',
        sources: [source('EO 14357')],
      });
      const other = expectWrite(byId, 201, 4);
      expect(other.claimId).not.toBe(claim.claimId);
      await appended(`measure-${id}`, other, ['PartyClaimRecorded']);
    });

    it('retractions: an event of the measure, by UUID', async () => {
      const { id, code } = await recordUsTariff();
      const claim = expectWrite(
        await post(`/api/v1/measures/${code}/claims`).send({
          party: 'CN',
          statement: 'Misattributed statement',
          sources: [source('A news report')],
        }),
        201,
        3,
      );
      const response = await post(`/api/v1/measures/${id}/retractions`).send({
        eventId: claim.eventIds[0],
        reason: 'The statement was not MOFCOM’s',
        sources: [source('MOFCOM correction')],
      });
      const write = expectWrite(response, 200, 4);
      const [retracted] = await appended(`measure-${id}`, write, ['EventRetracted']);
      expect(retracted.payload).toMatchObject({
        eventId: claim.eventIds[0],
        reason: 'The statement was not MOFCOM’s',
        effectiveAt: expect.any(String),
        sources: [source('MOFCOM correction')],
      });
    });

    it('revocation: by code', async () => {
      const { id, code } = await recordUsTariff();
      const response = await post(`/api/v1/measures/${code}/revocation`).send({
        effectiveAt: '2025-11-10T05:01:00Z',
        sources: [source('EO revoking the tariff')],
      });
      const write = expectWrite(response, 200, 3);
      const [revoked] = await appended(`measure-${id}`, write, ['MeasureRevoked']);
      expect(revoked.payload).toEqual({
        effectiveAt: '2025-11-10T05:01:00.000Z',
        sources: [source('EO revoking the tariff')],
      });
    });

    it('codes are case-insensitive in paths', async () => {
      const { id, code } = await recordUsTariff();
      const response = await post(`/api/v1/measures/${code.toLowerCase()}/claims`).send({
        party: 'US',
        statement: 'In force.',
        sources: [source()],
      });
      expect(expectWrite(response, 201, 3).id).toBe(id);
    });
  });

  describe('agreement routes, with {id} as the UUID or the code', () => {
    async function concludeAgreement(venue = 'Geneva') {
      const code = `AGR-${suffix()}`;
      const body = agreementBody(code, { venue });
      const response = await post('/api/v1/agreements').send(body);
      const write = expectWrite(response, 201, 1);
      return { code, id: write.id, write, response, body };
    }

    it('POST /api/v1/agreements: 201, Location, AgreementConcluded', async () => {
      const { code, id, write, response, body } = await concludeAgreement();
      expect(response.headers.location).toBe(`/api/v1/agreements/${id}`);
      const [concluded] = await appended(`agreement-${id}`, write, ['AgreementConcluded']);
      expect(concluded.payload).toEqual({
        agreementId: id,
        code,
        title: body.title,
        parties: ['US', 'CN'],
        venue: 'Geneva',
        summary: body.summary,
        effectiveAt: '2025-05-12T07:00:00.000Z',
        sources: body.sources,
      });
    });

    it('commitments (201 with commitmentId, by code) and their status (by UUID)', async () => {
      const measure = await recordUsTariff();
      const { id, code } = await concludeAgreement();
      const response = await post(`/api/v1/agreements/${code}/commitments`).send({
        obligor: 'US',
        kind: 'suspend',
        text: 'Suspend 24 of the 34 percentage points for 90 days.',
        measures: [measure.code],
        dueAt: '2025-05-14T04:01:00Z',
        condition: 'Both sides act by 14 May',
        sources: [source('Joint statement')],
      });
      const commitment = expectWrite(response, 201, 2);
      expect(commitment.commitmentId).toMatch(UUID);
      expect(response.headers.location).toBe(`/api/v1/agreements/${id}`);
      const [recorded] = await appended(`agreement-${id}`, commitment, ['CommitmentRecorded']);
      expect(recorded.payload).toEqual({
        commitmentId: commitment.commitmentId,
        obligor: 'US',
        kind: 'suspend',
        text: 'Suspend 24 of the 34 percentage points for 90 days.',
        measures: [measure.id],
        dueAt: '2025-05-14T04:01:00.000Z',
        condition: 'Both sides act by 14 May',
        effectiveAt: '2025-05-12T07:00:00.000Z',
        sources: [source('Joint statement')],
      });

      const status = await post(
        `/api/v1/agreements/${id}/commitments/${commitment.commitmentId}/status`,
      ).send({
        status: 'fulfilled',
        note: 'EO 14298',
        effectiveAt: '2025-05-14T04:01:00Z',
        sources: [source('EO 14298')],
      });
      const changed = expectWrite(status, 200, 3);
      const [event] = await appended(`agreement-${id}`, changed, ['CommitmentStatusChanged']);
      expect(event.payload).toEqual({
        commitmentId: commitment.commitmentId,
        status: 'fulfilled',
        previousStatus: 'pending',
        note: 'EO 14298',
        effectiveAt: '2025-05-14T04:01:00.000Z',
        sources: [source('EO 14298')],
      });
    });

    it('reaffirmations: a later agreement reaffirms an earlier one, named by code', async () => {
      const madrid = await concludeAgreement('Madrid');
      const kualaLumpur = await concludeAgreement('Kuala Lumpur');
      const response = await post(`/api/v1/agreements/${kualaLumpur.code}/reaffirmations`).send({
        reaffirms: madrid.code,
        sources: [source('Readout')],
      });
      const write = expectWrite(response, 200, 2);
      expect(write.id).toBe(kualaLumpur.id);
      const [event] = await appended(`agreement-${kualaLumpur.id}`, write, ['AgreementReaffirmed']);
      expect(event.payload).toEqual({
        reaffirms: madrid.id,
        effectiveAt: '2025-05-12T07:00:00.000Z',
        sources: [source('Readout')],
      });
    });

    // The status of a new claim is pinned down by the next test.
    it('claims: with claimId, by code and by UUID', async () => {
      const { id, code } = await concludeAgreement();
      const byCode = await post(`/api/v1/agreements/${code}/claims`).send({
        party: 'CN',
        statement: 'The exclusions run until December.',
        about: 'exclusions',
        sources: [source('MOFCOM readout')],
      });
      const claim = expectWrite(byCode, undefined, 2);
      expect(claim.claimId).toMatch(UUID);
      const [event] = await appended(`agreement-${id}`, claim, ['PartyClaimRecorded']);
      expect(event.payload).toMatchObject({
        claimId: claim.claimId,
        party: 'CN',
        statement: 'The exclusions run until December.',
        about: 'exclusions',
      });
      const byId = await post(`/api/v1/agreements/${id}/claims`).send({
        party: 'US',
        statement: 'The exclusions run until November.',
        sources: [source('White House fact sheet')],
      });
      await appended(`agreement-${id}`, expectWrite(byId, undefined, 3), ['PartyClaimRecorded']);
    });

    it('claims answer with the same status on agreements as on measures (a new claim: 201)', async () => {
      const { code } = await concludeAgreement();
      const measure = await recordUsTariff();
      const claim = { party: 'US', statement: 'As agreed.', sources: [source()] };
      const onMeasure = await post(`/api/v1/measures/${measure.code}/claims`).send(claim);
      const onAgreement = await post(`/api/v1/agreements/${code}/claims`).send(claim);
      expect(onMeasure.status).toBe(201);
      expect(onAgreement.status).toBe(onMeasure.status);
    });

    it('retractions: an event of the agreement, by code', async () => {
      const { id, code } = await concludeAgreement();
      const claim = expectWrite(
        await post(`/api/v1/agreements/${id}/claims`).send({
          party: 'US',
          statement: 'Wrongly attributed.',
          sources: [source()],
        }),
        undefined,
        2,
      );
      const response = await post(`/api/v1/agreements/${code}/retractions`).send({
        // In upper case: the same UUID, the same event.
        eventId: claim.eventIds[0].toUpperCase(),
        reason: 'Misattributed',
        sources: [source('Correction')],
      });
      const write = expectWrite(response, 200, 3);
      const [event] = await appended(`agreement-${id}`, write, ['EventRetracted']);
      expect(event.payload).toMatchObject({ eventId: claim.eventIds[0], reason: 'Misattributed' });
    });
  });

  describe('If-Match', () => {
    it('a matching version (quoted, weak or bare) lets the write through', async () => {
      const { id, code } = await recordUsTariff();
      const amend = (percent: number) => ({
        rate: { type: 'ad-valorem', percent },
        effectiveAt: '2025-05-14T04:01:00Z',
        sources: [source()],
      });
      expectWrite(
        await post(`/api/v1/measures/${code}/amendments`).set('if-match', '"2"').send(amend(30)),
        200,
        3,
      );
      expectWrite(
        await post(`/api/v1/measures/${id}/amendments`).set('if-match', 'W/"3"').send(amend(31)),
        200,
        4,
      );
      const created = await suspend(
        code,
        { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D' },
        { 'if-match': '4' },
      );
      expectWrite(created, 201, 6);
    });

    it('a stale version → 412 problem+json with currentVersion, and nothing appended', async () => {
      const { id, code } = await recordUsTariff();
      const claim = { party: 'CN', statement: 'x', sources: [source()] };
      expectWrite(
        await post(`/api/v1/measures/${code}/claims`).set('if-match', '"2"').send(claim),
        201,
        3,
      );
      const before = await api.eventCount();
      const stale = await post(`/api/v1/measures/${code}/claims`)
        .set('if-match', '"2"')
        .send(claim);
      expect(stale.status).toBe(412);
      expect(stale.headers['content-type']).toMatch(PROBLEM_JSON);
      expect(stale.body).toMatchObject({
        type: 'https://accord.dev/problems/precondition-failed',
        status: 412,
        code: 'precondition-failed',
        currentVersion: 3,
      });
      expect(await api.eventCount()).toBe(before);
      expect(await api.readStream(`measure-${id}`)).toHaveLength(3);
    });
  });

  describe('Idempotency-Key', () => {
    it('a retried write returns the first result and appends nothing', async () => {
      const { id, code } = await recordUsTariff();
      const key = `retry-${suffix()}`;
      const body = {
        rate: { type: 'ad-valorem', percent: 125 },
        effectiveAt: '2025-04-10T04:01:00Z',
        sources: [source()],
      };
      const first = await post(`/api/v1/measures/${code}/amendments`)
        .set('idempotency-key', key)
        .send(body);
      const written = expectWrite(first, 200, 3);
      const before = await api.eventCount();

      const retried = await post(`/api/v1/measures/${id}/amendments`)
        .set('idempotency-key', key)
        .send(body);
      const again = expectWrite(retried, 200, 3);
      expect(again).toMatchObject({
        id: written.id,
        version: written.version,
        position: written.position,
        eventIds: written.eventIds,
      });
      expect(await api.eventCount()).toBe(before);
      expect(await api.readStream(`measure-${id}`)).toHaveLength(3);
    });

    it('a retried suspension answers with the same suspensionId', async () => {
      const { id, code } = await recordUsTariff();
      const key = `retry-${suffix()}`;
      const body = { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D', sources: [source()] };
      const first = expectWrite(
        await post(`/api/v1/measures/${code}/suspensions`).set('idempotency-key', key).send(body),
        201,
        4,
      );
      const before = await api.eventCount();
      const retried = await post(`/api/v1/measures/${code}/suspensions`)
        .set('idempotency-key', key)
        .send(body);
      expect(retried.body).toMatchObject({
        id,
        version: 4,
        position: first.position,
        eventIds: first.eventIds,
        suspensionId: first.suspensionId,
      });
      expect(await api.eventCount()).toBe(before);
    });

    it('a retried POST /api/v1/measures returns the same measure and appends nothing', async () => {
      const key = `create-${suffix()}`;
      const body = usTariffBody(`US-RECIP-${suffix()}`);
      const first = expectWrite(
        await post('/api/v1/measures').set('idempotency-key', key).send(body),
        201,
        2,
      );
      const before = await api.eventCount();
      const retried = await post('/api/v1/measures').set('idempotency-key', key).send(body);
      expect({ status: retried.status, body: retried.body }).toMatchObject({
        status: expect.any(Number),
        body: {
          id: first.id,
          version: 2,
          position: first.position,
          eventIds: first.eventIds,
        },
      });
      expect(retried.status).toBeLessThan(300);
      expect(await api.eventCount()).toBe(before);
    });

    it('a retried POST /api/v1/agreements returns the same agreement and appends nothing', async () => {
      const key = `create-${suffix()}`;
      const body = agreementBody(`AGR-${suffix()}`);
      const first = expectWrite(
        await post('/api/v1/agreements').set('idempotency-key', key).send(body),
        201,
        1,
      );
      const before = await api.eventCount();
      const retried = await post('/api/v1/agreements').set('idempotency-key', key).send(body);
      expect({ status: retried.status, body: retried.body }).toMatchObject({
        status: expect.any(Number),
        body: { id: first.id, version: 1, position: first.position, eventIds: first.eventIds },
      });
      expect(retried.status).toBeLessThan(300);
      expect(await api.eventCount()).toBe(before);
    });

    it('a retried creating POST repeats the first response: 201, ETag and Location', async () => {
      const { code } = await recordUsTariff();
      const key = `retry-${suffix()}`;
      const body = { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D', sources: [source()] };
      const first = await post(`/api/v1/measures/${code}/suspensions`)
        .set('idempotency-key', key)
        .send(body);
      const retried = await post(`/api/v1/measures/${code}/suspensions`)
        .set('idempotency-key', key)
        .send(body);
      expect(first.status).toBe(201);
      expect({
        status: retried.status,
        etag: retried.headers.etag,
        location: retried.headers.location,
      }).toEqual({
        status: first.status,
        etag: first.headers.etag,
        location: first.headers.location,
      });
    });

    it('the same key from another API key is a different request', async () => {
      const { id, code } = await recordUsTariff();
      const key = `shared-${suffix()}`;
      const claim = { party: 'CN', statement: 'x', sources: [source()] };
      const mine = expectWrite(
        await post(`/api/v1/measures/${code}/claims`).set('idempotency-key', key).send(claim),
        201,
        3,
      );
      const theirs = expectWrite(
        await post(`/api/v1/measures/${code}/claims`, otherEditor)
          .set('idempotency-key', key)
          .send(claim),
        201,
        4,
      );
      expect(theirs.eventIds).not.toEqual(mine.eventIds);
      expect(theirs.claimId).not.toBe(mine.claimId);
      const stream = await api.readStream(`measure-${id}`);
      expect(stream.slice(2).map((event) => event.metadata.actor)).toEqual([
        editor.name,
        otherEditor.name,
      ]);
    });
  });

  describe('Idempotency-Key: a retry with the same body, its keys in another order', () => {
    /**
     * A retried creating write: the first one's answer (201, same ids and position), nothing
     * appended, the stream at the version it was.
     */
    async function expectReplayed(
      retried: request.Response,
      first: ReturnType<typeof expectWrite>,
      before: { events: number; streamLength: number },
    ) {
      expect({ status: retried.status, body: retried.body }).toEqual({
        status: 201,
        body: { ...first, replayed: true },
      });
      expect(retried.headers.etag).toBe(`"${first.version}"`);
      expect(await api.eventCount()).toBe(before.events);
      expect(await api.readStream(`measure-${first.id}`)).toHaveLength(before.streamLength);
    }

    it('a measure sent again with its keys reversed at every depth is the same request', async () => {
      const key = `reordered-${suffix()}`;
      const body = usTariffBody(`US-RECIP-${suffix()}`);
      const first = expectWrite(
        await post('/api/v1/measures').set('idempotency-key', key).send(body),
        201,
        2,
      );
      const before = { events: await api.eventCount(), streamLength: 2 };

      const retried = await post('/api/v1/measures')
        .set('idempotency-key', key)
        .send(reversedKeys(body));
      await expectReplayed(retried, first, before);

      // The top level as it was: only the rate and the scope inside it are reordered.
      const nestedOnly = {
        ...body,
        rate: reversedKeys(body.rate),
        scope: reversedKeys(body.scope),
      };
      const again = await post('/api/v1/measures').set('idempotency-key', key).send(nestedOnly);
      await expectReplayed(again, first, before);
    });

    it('a suspension whose sources alone are reordered answers the same suspensionId', async () => {
      const { code } = await recordUsTariff();
      const key = `reordered-${suffix()}`;
      const body = {
        startsAt: '2025-05-14T04:01:00Z',
        duration: 'P90D',
        part: { percentPoints: 24 },
        sources: [source('Executive order modifying the reciprocal rate'), source()],
      };
      const first = expectWrite(
        await post(`/api/v1/measures/${code}/suspensions`).set('idempotency-key', key).send(body),
        201,
        4,
      );
      expect(first.suspensionId).toMatch(UUID);
      const before = { events: await api.eventCount(), streamLength: 4 };

      // Objects inside an array: each source's keys reversed, the sources in the same order.
      const retried = await post(`/api/v1/measures/${code}/suspensions`)
        .set('idempotency-key', key)
        .send({ ...body, sources: reversedKeys(body.sources) });
      await expectReplayed(retried, first, before);
    });

    it('a retry that differs in a value, however its keys are ordered, is still refused', async () => {
      const { id, code } = await recordUsTariff();
      const key = `reordered-${suffix()}`;
      const body = {
        rate: { type: 'ad-valorem', percent: 125 },
        effectiveAt: '2025-04-10T04:01:00Z',
        sources: [source(), source('Another notice')],
      };
      expectWrite(
        await post(`/api/v1/measures/${code}/amendments`).set('idempotency-key', key).send(body),
        200,
        3,
      );
      const before = await api.eventCount();

      for (const changed of [
        { ...body, rate: { type: 'ad-valorem', percent: 126 } },
        { ...body, effectiveAt: '2025-04-10T04:02:00Z' },
        // Arrays keep their order: the same sources the other way round are another request.
        { ...body, sources: [...body.sources].reverse() },
      ]) {
        const refused = await post(`/api/v1/measures/${code}/amendments`)
          .set('idempotency-key', key)
          .send(reversedKeys(changed));
        expect({ status: refused.status, code: refused.body.code }).toEqual({
          status: 422,
          code: 'idempotency-key-reused',
        });
        expect(refused.headers['content-type']).toMatch(PROBLEM_JSON);
      }
      expect(await api.eventCount()).toBe(before);
      expect(await api.readStream(`measure-${id}`)).toHaveLength(3);
    });
  });

  describe('roles', () => {
    /** Every write route, with a body that an editor could send. */
    async function everyWriteRoute(): Promise<Array<[string, Record<string, unknown>]>> {
      const measure = await recordUsTariff();
      const suspension = expectWrite(
        await suspend(measure.code, { startsAt: '2025-05-14T04:01:00Z', duration: 'P90D' }),
        201,
        4,
      );
      const exclusion = expectWrite(
        await post(`/api/v1/measures/${measure.code}/exclusions`).send({
          description: 'x',
          effectiveAt: '2025-06-01T04:00:00Z',
          endsAt: '2025-11-30T05:00:00Z',
          sources: [source()],
        }),
        201,
        5,
      );
      const agreementCode = `AGR-${suffix()}`;
      const agreement = expectWrite(
        await post('/api/v1/agreements').send(agreementBody(agreementCode)),
        201,
        1,
      );
      const commitment = expectWrite(
        await post(`/api/v1/agreements/${agreementCode}/commitments`).send({
          obligor: 'CN',
          kind: 'purchase',
          text: 'Buy soybeans.',
          sources: [source()],
        }),
        201,
        2,
      );
      const m = `/api/v1/measures/${measure.code}`;
      const a = `/api/v1/agreements/${agreementCode}`;
      const sources = [source()];
      const at = '2025-10-01T04:00:00Z';
      return [
        ['/api/v1/measures', usTariffBody(`US-RECIP-${suffix()}`)],
        [
          `${m}/amendments`,
          { rate: { type: 'ad-valorem', percent: 20 }, effectiveAt: at, sources },
        ],
        [`${m}/suspensions`, { startsAt: at, duration: 'P1Y', sources }],
        [
          `${m}/suspensions/${suspension.suspensionId}/extensions`,
          { endsAt: '2026-11-10T05:01:00Z', sources },
        ],
        [`${m}/suspensions/${suspension.suspensionId}/lifting`, { effectiveAt: at, sources }],
        [`${m}/revocation`, { effectiveAt: at, sources }],
        [`${m}/exclusions`, { description: 'y', effectiveAt: at, sources }],
        [
          `${m}/exclusions/${exclusion.exclusionId}/extensions`,
          { endsAt: '2026-11-10T05:01:00Z', sources },
        ],
        [`${m}/claims`, { party: 'US', statement: 'x', sources }],
        [`${m}/retractions`, { eventId: exclusion.eventIds[0], reason: 'x', sources }],
        ['/api/v1/agreements', agreementBody(`AGR-${suffix()}`)],
        [`${a}/commitments`, { obligor: 'US', kind: 'cooperate', text: 'x', sources }],
        [
          `${a}/commitments/${commitment.commitmentId}/status`,
          { status: 'fulfilled', effectiveAt: at, sources },
        ],
        [`/api/v1/agreements/${agreement.id}/reaffirmations`, { reaffirms: 'x', sources }],
        [`${a}/claims`, { party: 'CN', statement: 'x', sources }],
        [`${a}/retractions`, { eventId: commitment.eventIds[0], reason: 'x', sources }],
      ];
    }

    it('a viewer gets 403 on every write route, without a key 401; nothing is appended', async () => {
      const routes = await everyWriteRoute();
      const before = await api.eventCount();
      for (const [path, body] of routes) {
        const forbidden = await post(path, viewer).send(body);
        expect({ path, status: forbidden.status, body: forbidden.body }).toMatchObject({
          path,
          status: 403,
          body: { code: 'forbidden', requiredRole: 'editor' },
        });
        expect(forbidden.headers['content-type']).toMatch(PROBLEM_JSON);

        const anonymous = await api.http().post(path).send(body);
        expect({ path, status: anonymous.status, body: anonymous.body }).toMatchObject({
          path,
          status: 401,
          body: { code: 'unauthenticated' },
        });
        expect(anonymous.headers['content-type']).toMatch(PROBLEM_JSON);
        expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer\b/);
      }
      expect(await api.eventCount()).toBe(before);
    });

    it('an editor and an admin may write; each event names its own key', async () => {
      const byEditor = expectWrite(
        await post('/api/v1/measures').send(usTariffBody(`US-RECIP-${suffix()}`)),
        201,
        2,
      );
      await appended(`measure-${byEditor.id}`, byEditor, [
        'MeasureAnnounced',
        'MeasureImplemented',
      ]);
      const byAdmin = expectWrite(
        await post('/api/v1/measures', api.adminKey).send(usTariffBody(`US-RECIP-${suffix()}`)),
        201,
        2,
      );
      await appended(
        `measure-${byAdmin.id}`,
        byAdmin,
        ['MeasureAnnounced', 'MeasureImplemented'],
        'bootstrap-admin',
      );
    });
  });

  describe('dates and parties that contradict the stream’s own facts: 422, nothing appended', () => {
    const get = (path: string) => api.http().get(path).set(bearer(viewer.key));

    /** The stream's version as GET …/events shows it (404 when there is no such stream). */
    async function versionOf(resource: string): Promise<number> {
      const history = await get(`${resource}/events`);
      expect(history.status).toBe(200);
      return (history.body.items as Array<{ version: number }>).at(-1)!.version;
    }

    /** A problem+json refusal with its stable code, and the field it names when it names one. */
    function expectRefused(
      response: request.Response,
      status: 409 | 422,
      code: string,
      field?: string,
    ) {
      expect({ status: response.status, body: response.body }).toMatchObject({
        status,
        body: { type: `https://accord.dev/problems/${code}`, status, code },
      });
      expect(response.headers['content-type']).toMatch(PROBLEM_JSON);
      if (field !== undefined) {
        expect(response.body).toMatchObject({ field, errors: [{ field }] });
      }
    }

    it('a measure that targets its imposing party, or a party twice, is refused and never created', async () => {
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ targetParties: ['US'] }, 'measure-targets-itself', 'targetParties.0'],
        [{ targetParties: ['CN', 'US'] }, 'measure-targets-itself', 'targetParties.1'],
        [{ targetParties: ['CN', 'CN'] }, 'duplicate-target-party', 'targetParties.1'],
      ];
      const before = await api.eventCount();
      for (const [overrides, code, field] of cases) {
        const measureCode = `US-BAD-${suffix()}`;
        const response = await post('/api/v1/measures').send(usTariffBody(measureCode, overrides));
        expectRefused(response, 422, code, field);
        expect((await get(`/api/v1/measures/${measureCode}/events`)).status).toBe(404);
      }
      expect(await api.eventCount()).toBe(before);
    });

    it('a measure in force before it was announced is refused; the same instant is fine', async () => {
      const before = await api.eventCount();
      const late = `US-BAD-${suffix()}`;
      expectRefused(
        await post('/api/v1/measures').send(
          usTariffBody(late, {
            announcedAt: '2025-04-02T20:00:00Z',
            effectiveAt: '2025-03-01T05:00:00Z',
          }),
        ),
        422,
        'effective-before-announced',
        'effectiveAt',
      );
      expect((await get(`/api/v1/measures/${late}/events`)).status).toBe(404);
      expect(await api.eventCount()).toBe(before);

      const immediate = usTariffBody(`US-NOW-${suffix()}`, {
        announcedAt: '2025-04-02T20:00:00Z',
        effectiveAt: '2025-04-02T20:00:00Z',
      });
      expectWrite(await post('/api/v1/measures').send(immediate), 201, 2);
    });

    it('a revocation dated before the measure was announced is refused', async () => {
      const { code } = await recordUsTariff();
      const response = await post(`/api/v1/measures/${code}/revocation`).send({
        effectiveAt: '2020-01-01T05:00:00Z',
        sources: [source('EO revoking the tariff')],
      });
      expectRefused(response, 422, 'revoked-before-measure', 'effectiveAt');
      expect(response.body).toMatchObject({ measureSince: '2025-04-02T20:00:00.000Z' });
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(2);

      // Announced on 2 April, due in force on 9 April, withdrawn on 5 April: not a contradiction.
      expectWrite(
        await post(`/api/v1/measures/${code}/revocation`).send({
          effectiveAt: '2025-04-05T04:00:00Z',
          sources: [source('EO withdrawing the tariff')],
        }),
        200,
        3,
      );
    });

    it('a suspension may start between announcement and entry into force, not before the announcement', async () => {
      const { code } = await recordUsTariff();
      const refused = await suspend(code, {
        startsAt: '1999-01-01T05:00:00Z',
        endsAt: '2026-11-10T05:01:00Z',
      });
      expectRefused(refused, 422, 'suspension-starts-before-measure', 'startsAt');
      expect(refused.body).toMatchObject({ measureSince: '2025-04-02T20:00:00.000Z' });
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(2);

      // Announced on 2 April, in force from 9 April: suspended from 5 April (cf. MOFCOM Ann. 70).
      expectWrite(
        await suspend(code, { startsAt: '2025-04-05T04:00:00Z', endsAt: '2025-07-05T04:00:00Z' }),
        201,
        4,
      );
    });

    it('lifting or extending a suspension before it started is refused', async () => {
      const { code } = await recordUsTariff();
      const { suspensionId } = expectWrite(
        await suspend(code, { startsAt: '2025-05-14T04:01:00Z', endsAt: '2025-08-12T04:01:00Z' }),
        201,
        4,
      );
      const suspension = `/api/v1/measures/${code}/suspensions/${suspensionId}`;
      expectRefused(
        await post(`${suspension}/lifting`).send({
          effectiveAt: '2025-05-01T04:00:00Z',
          sources: [source('Proclamation')],
        }),
        422,
        'lifted-before-start',
        'effectiveAt',
      );
      expectRefused(
        await post(`${suspension}/extensions`).send({
          endsAt: '2025-11-10T05:01:00Z',
          effectiveAt: '2025-05-01T04:00:00Z',
          sources: [source('EO 14334')],
        }),
        422,
        'extended-before-start',
        'effectiveAt',
      );
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(4);
    });

    it('an amendment dated before the measure was announced is refused; from the announcement on it is not', async () => {
      const { code } = await recordUsTariff();
      const amend = (effectiveAt: string) =>
        post(`/api/v1/measures/${code}/amendments`).send({
          rate: { type: 'ad-valorem', percent: 84 },
          scope: { description: 'All products of China and Hong Kong', inclusions: ['HK'] },
          effectiveAt,
          sources: [source('EO 14259')],
        });
      const refused = await amend('2025-03-01T05:00:00Z');
      expectRefused(refused, 422, 'amended-before-measure', 'effectiveAt');
      expect(refused.body).toMatchObject({ measureSince: '2025-04-02T20:00:00.000Z' });
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(2);

      // Raised on 8 April, before it took effect on 9 April: rate and scope amended together.
      expectWrite(await amend('2025-04-08T20:00:00Z'), 200, 4);
    });

    it('an extension in force after the suspension was lifted is refused: a new suspension is', async () => {
      const { code } = await recordUsTariff();
      const { suspensionId } = expectWrite(
        await suspend(code, { startsAt: '2025-05-14T04:01:00Z', endsAt: '2025-08-12T04:01:00Z' }),
        201,
        4,
      );
      expectWrite(
        await post(`/api/v1/measures/${code}/suspensions/${suspensionId}/lifting`).send({
          effectiveAt: '2025-07-01T04:00:00Z',
          sources: [source('EO 14334')],
        }),
        200,
        5,
      );
      const extend = (body: object) =>
        post(`/api/v1/measures/${code}/suspensions/${suspensionId}/extensions`).send({
          endsAt: '2025-11-10T05:01:00Z',
          sources: [source('EO 14334')],
          ...body,
        });
      // Lifted on 1 July; an extension dated 1 September, or today, comes too late.
      for (const body of [{ effectiveAt: '2025-09-01T04:00:00Z' }, {}]) {
        const refused = await extend(body);
        expectRefused(refused, 422, 'suspension-already-ended', 'effectiveAt');
        expect(refused.body).toMatchObject({ suspensionId, endedAt: '2025-07-01T04:00:00.000Z' });
      }
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(5);
      // Decided by the lifting, recorded after it: taken; the lifting still ends it.
      expectWrite(await extend({ effectiveAt: '2025-06-20T04:00:00Z' }), 200, 6);
    });

    it('the start of a suspension with a fixed start cannot be retracted apart from its scheduling', async () => {
      const { id, code } = await recordUsTariff();
      const write = expectWrite(
        await suspend(code, { startsAt: '2025-05-14T04:01:00Z', endsAt: '2025-08-12T04:01:00Z' }),
        201,
        4,
      );
      const [scheduling, start] = write.eventIds;
      const retract = (eventId: string) =>
        post(`/api/v1/measures/${code}/retractions`).send({
          eventId,
          reason: 'The suspension did not start then',
          sources: [source('Correction')],
        });
      const refused = await retract(start);
      expectRefused(refused, 422, 'fixed-start-not-retractable', 'eventId');
      expect(refused.body).toMatchObject({ schedulingEventId: scheduling });
      expect(await versionOf(`/api/v1/measures/${code}`)).toBe(4);

      const retracted = expectWrite(await retract(scheduling), 200, 5);
      await appended(`measure-${id}`, retracted, ['EventRetracted']);
    });

    it('a reaffirmation that closes a cycle is refused, as is one of an agreement by itself', async () => {
      const codes = [`AGR-${suffix()}`, `AGR-${suffix()}`, `AGR-${suffix()}`];
      for (const code of codes) {
        expectWrite(await post('/api/v1/agreements').send(agreementBody(code)), 201, 1);
      }
      const [geneva, london, madrid] = codes;
      const reaffirm = (agreement: string, reaffirms: string) =>
        post(`/api/v1/agreements/${agreement}/reaffirmations`).send({
          reaffirms,
          sources: [source('Joint statement')],
        });
      expectWrite(await reaffirm(london, geneva), 200, 2);
      expectWrite(await reaffirm(madrid, london), 200, 2);

      const cycle = await reaffirm(geneva, madrid);
      expectRefused(cycle, 422, 'agreement-reaffirmation-cycle', 'reaffirms');
      expect(cycle.body.cycle).toHaveLength(4);
      expectRefused(
        await reaffirm(geneva, geneva),
        422,
        'agreement-self-reaffirmation',
        'reaffirms',
      );
      expect(await versionOf(`/api/v1/agreements/${geneva}`)).toBe(1);
    });

    it('commitment statuses: not before the agreement, and compared with the status in force on their date', async () => {
      const code = `AGR-${suffix()}`;
      expectWrite(await post('/api/v1/agreements').send(agreementBody(code)), 201, 1);
      const { commitmentId } = expectWrite(
        await post(`/api/v1/agreements/${code}/commitments`).send({
          obligor: 'US',
          kind: 'suspend',
          text: 'Suspend 24 of the 34 percentage points for 90 days.',
          sources: [source('Joint statement')],
        }),
        201,
        2,
      );
      const status = (value: string, effectiveAt: string) =>
        post(`/api/v1/agreements/${code}/commitments/${commitmentId}/status`).send({
          status: value,
          effectiveAt,
          sources: [source('Readout')],
        });

      expectRefused(
        await status('breached', '2020-01-01T00:00:00Z'),
        422,
        'commitment-status-before-concluded',
        'effectiveAt',
      );
      expect(await versionOf(`/api/v1/agreements/${code}`)).toBe(2);

      expectWrite(await status('fulfilled', '2025-11-10T05:01:00Z'), 200, 3);
      // Recorded after the fulfilment, in force before it.
      expectWrite(await status('breached', '2025-10-28T00:00:00Z'), 200, 4);
      // On 1 April 2026 the fulfilment of 10 November is what holds, whatever was recorded last.
      const unchanged = await status('fulfilled', '2026-04-01T00:00:00Z');
      expectRefused(unchanged, 409, 'commitment-status-unchanged');
      expect(unchanged.body).toMatchObject({ statusInForce: 'fulfilled' });
      expect(await versionOf(`/api/v1/agreements/${code}`)).toBe(4);
      // On 1 November the breach held: fulfilling it then is a change, from breached.
      const change = expectWrite(await status('fulfilled', '2025-11-01T00:00:00Z'), 200, 5);
      const [event] = await appended(`agreement-${change.id}`, change, ['CommitmentStatusChanged']);
      expect(event.payload).toMatchObject({ status: 'fulfilled', previousStatus: 'breached' });
    });

    it('a reaffirmation dated before the agreement was concluded is refused', async () => {
      const madrid = `AGR-${suffix()}`;
      const kualaLumpur = `AGR-${suffix()}`;
      expectWrite(
        await post('/api/v1/agreements').send(
          agreementBody(madrid, { concludedAt: '2025-09-14T22:00:00Z' }),
        ),
        201,
        1,
      );
      expectWrite(
        await post('/api/v1/agreements').send(
          agreementBody(kualaLumpur, { concludedAt: '2025-10-25T16:00:00Z' }),
        ),
        201,
        1,
      );
      const response = await post(`/api/v1/agreements/${kualaLumpur}/reaffirmations`).send({
        reaffirms: madrid,
        effectiveAt: '2025-10-01T00:00:00Z',
        sources: [source('Readout')],
      });
      expectRefused(response, 422, 'reaffirmed-before-concluded', 'effectiveAt');
      expect(response.body).toMatchObject({ concludedAt: '2025-10-25T16:00:00.000Z' });
      expect(await versionOf(`/api/v1/agreements/${kualaLumpur}`)).toBe(1);
    });
  });
});

// ── Every Location a write answers names a resource that answers GET ──
// Self-contained: a database, an api and, for the read side that GET answers from, the
// worker's projections of its own.
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from '../apps/worker/src/worker.module';

describe('write API: Location', () => {
  let harness: WriteApiHarness;
  let worker: INestApplicationContext;
  let key: ApiKeyCreated;
  const as = () => bearer(key.key);
  const write = (path: string, body: object) => harness.http().post(path).set(as()).send(body);

  beforeAll(async () => {
    process.env.SUBSCRIPTION_POLL_MS = '50';
    harness = await startWriteApi('e2e_write_locations');
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
    key = await harness.createKey('editor');
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await harness?.close();
  });

  /**
   * A 201 whose Location is the measure or agreement written to, and a GET of it with the same
   * key (reading that write: `minPosition`) answers 200 with that resource at the write's ETag.
   */
  async function expectLocationAnswers(response: request.Response, collection: string) {
    expect({ status: response.status, body: response.body }).toMatchObject({
      status: 201,
      body: { id: expect.any(String), position: expect.any(Number) },
    });
    const location: string = response.headers.location;
    expect(location).toBe(`/api/v1/${collection}/${response.body.id}`);
    const read = await harness
      .http()
      .get(location)
      .query({ minPosition: response.body.position })
      .set(as());
    // A read's ETag (`W/"<version>.<digest>"`) leads with the version the write's ETag names.
    const version = (etag: string) => /^(?:W\/)?"(\d+)[".]/.exec(etag)?.[1];
    expect({
      location,
      status: read.status,
      id: read.body.id,
      etag: version(read.headers.etag),
    }).toEqual({
      location,
      status: 200,
      id: response.body.id,
      etag: version(response.headers.etag),
    });
  }

  it('measure, suspension, exclusion and claim writes: Location is the measure', async () => {
    const code = `US-LOC-${suffix()}`;
    const measure = await write('/api/v1/measures', usTariffBody(code));
    await expectLocationAnswers(measure, 'measures');
    const suspension = await write(`/api/v1/measures/${code}/suspensions`, {
      startsAt: '2027-03-01T05:00:00Z',
      duration: 'P90D',
      sources: [source()],
    });
    expect(suspension.body.suspensionId).toEqual(expect.any(String));
    await expectLocationAnswers(suspension, 'measures');
    const exclusion = await write(`/api/v1/measures/${code}/exclusions`, {
      description: 'Solar manufacturing equipment',
      hsCodes: ['8486.10'],
      effectiveAt: '2025-06-01T04:00:00Z',
      endsAt: '2027-11-30T05:00:00Z',
      sources: [source('USTR exclusion notice')],
    });
    expect(exclusion.body.exclusionId).toEqual(expect.any(String));
    await expectLocationAnswers(exclusion, 'measures');
    const claim = await write(`/api/v1/measures/${code}/claims`, {
      party: 'CN',
      statement: 'A claim.',
      sources: [source()],
    });
    await expectLocationAnswers(claim, 'measures');
  });

  it('agreement, commitment and claim writes: Location is the agreement', async () => {
    const measureCode = `US-LOC-${suffix()}`;
    await expectLocationAnswers(
      await write('/api/v1/measures', usTariffBody(measureCode)),
      'measures',
    );
    const code = `AGR-LOC-${suffix()}`;
    await expectLocationAnswers(
      await write('/api/v1/agreements', agreementBody(code)),
      'agreements',
    );
    const commitment = await write(`/api/v1/agreements/${code}/commitments`, {
      obligor: 'US',
      kind: 'suspend',
      text: 'Suspend 24 of the 34 percentage points for a year.',
      measures: [measureCode],
      dueAt: '2027-05-14T04:01:00Z',
      sources: [source('Joint statement')],
    });
    expect(commitment.body.commitmentId).toEqual(expect.any(String));
    await expectLocationAnswers(commitment, 'agreements');
    const claim = await write(`/api/v1/agreements/${code}/claims`, {
      party: 'CN',
      statement: 'A claim.',
      sources: [source()],
    });
    await expectLocationAnswers(claim, 'agreements');
  });
});

// ── An extension recorded after the worker recorded the lapse it proves wrong ──
// The api and the worker, which records the lapse of a suspension whose end has passed.
describe('write API with the worker: a late extension and the lapse recorded before it', () => {
  let harness: WriteApiHarness;
  let worker: INestApplicationContext;
  let key: ApiKeyCreated;
  const as = () => bearer(key.key);
  const post = (path: string, body: object) => harness.http().post(path).set(as()).send(body);
  const get = (path: string, query: Record<string, string | number> = {}) =>
    harness.http().get(path).query(query).set(as());

  beforeAll(async () => {
    Object.assign(process.env, { SUBSCRIPTION_POLL_MS: '50', ALERT_RELAY_POLL_MS: '50' });
    harness = await startWriteApi('e2e_write_late_extension');
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: false });
    key = await harness.createKey('editor');
  }, 120_000);
  afterAll(async () => {
    await worker?.close();
    await harness?.close();
  });

  it('an extension in force by the end retracts the system’s lapse with it, and every read agrees', async () => {
    const code = `US-LATE-${suffix()}`;
    const measure = await post('/api/v1/measures', usTariffBody(code));
    expect(measure.status).toBe(201);
    const streamId = `measure-${measure.body.id}`;
    const suspended = await post(`/api/v1/measures/${code}/suspensions`, {
      startsAt: '2025-05-14T04:01:00Z',
      endsAt: '2025-08-12T04:01:00Z',
      part: { percentPoints: 24 },
      sources: [source('EO 14298')],
    });
    expect(suspended.status).toBe(201);
    const suspensionId: string = suspended.body.suspensionId;

    // The end has passed: the worker records the lapse, as the system.
    const lapse = await eventually(
      async () => {
        const found = (await harness.readStream(streamId)).find(
          (event) => event.type === 'SuspensionLapsed',
        );
        expect(found?.metadata.actor).toBe('system');
        return found!;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

    // EO 14334 of 11 August carried it on for a year; the analyst records it now, dated then.
    const newEnd = new Date(Date.now() + 365 * 86_400_000).toISOString();
    const extension = await post(
      `/api/v1/measures/${code}/suspensions/${suspensionId}/extensions`,
      { endsAt: newEnd, effectiveAt: '2025-08-11T16:00:00Z', sources: [source('EO 14334')] },
    );
    expect(extension.status).toBe(200);
    const written = (await harness.readStream(streamId)).slice(-2);
    expect(written.map((event) => event.eventId)).toEqual(extension.body.eventIds);
    expect(written.map((event) => [event.type, event.metadata.actor])).toEqual([
      ['EventRetracted', key.name],
      ['SuspensionExtended', key.name],
    ]);
    expect(written[0].payload).toMatchObject({ eventId: lapse.eventId });

    // The measure: suspended, the suspension active to its new end, no lapse.
    const minPosition = extension.body.position as number;
    const read = await get(`/api/v1/measures/${code}`, {
      minPosition,
      asOf: '2025-09-01T00:00:00Z',
    });
    expect(read.status).toBe(200);
    expect(read.body.status).toBe('partially-suspended');
    expect(read.body.suspensions).toEqual([
      expect.objectContaining({
        id: suspensionId,
        state: 'active',
        endsAt: newEnd,
        lapsedAt: null,
        onAsOf: { state: 'in-effect', endsAt: newEnd },
      }),
    ]);
    // The history keeps the lapse, struck by the retraction that came with the extension.
    const history = await get(`/api/v1/measures/${code}/events`);
    const lapseInHistory = (
      history.body.items as Array<{ eventId: string; retracted: { by: string } | null }>
    ).find((item) => item.eventId === lapse.eventId);
    expect(lapseInHistory?.retracted).toMatchObject({ by: extension.body.eventIds[0] });
    // The expiry is the new end, still ahead: the worker records no new lapse.
    const expiries = await get('/api/v1/expiries', {
      minPosition,
      from: newEnd.slice(0, 10),
      to: new Date(Date.parse(newEnd) + 86_400_000).toISOString().slice(0, 10),
    });
    expect(expiries.status).toBe(200);
    expect(expiries.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ suspensionId, endsAt: newEnd, state: 'active' }),
      ]),
    );
    const lapses = (await harness.readStream(streamId)).filter(
      (event) => event.type === 'SuspensionLapsed',
    );
    expect(lapses).toHaveLength(1);
  });
});
