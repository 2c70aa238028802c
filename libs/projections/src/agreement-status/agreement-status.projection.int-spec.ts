import { commitmentStatusAt, type AgreementState, type Source } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { concludeAgreementBody } from '@app/trade';
import {
  renamed,
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from '../testing/projection-test-app';
import {
  AGREEMENT_STATUS_PROJECTION,
  AgreementStatusProjection,
} from './agreement-status.projection';

const TABLE = 'agreement_status';
const KEY = 'agreement_id';

const statement: Source = {
  issuer: 'The White House',
  title: 'Joint statement',
  official: true,
  confidence: 'H',
};

const conclude = (code: string) =>
  concludeAgreementBody.parse({
    code,
    title: `Test arrangement (${code})`,
    parties: ['US', 'CN'],
    venue: 'Stockholm',
    concludedAt: '2025-07-29T08:00:00Z',
    sources: [statement],
  });

describe('AgreementStatusProjection on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: AgreementStatusProjection;
  /** Agreements of this file, beyond the bundled dataset. */
  const own = { amended: '', commitment: '', unmade: '' };

  async function rowOf(agreementId: string) {
    const rows: { state: AgreementState; [column: string]: unknown }[] = await t.dataSource.query(
      `SELECT * FROM ${TABLE} WHERE ${KEY} = $1`,
      [agreementId],
    );
    return rows[0];
  }

  beforeAll(async () => {
    db = await createTestDatabase('proj_agreement_status');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(AgreementStatusProjection);
    await t.seed();

    // Status changes recorded out of valid-time order, one of them retracted, and a retracted
    // reaffirmation.
    own.amended = (
      await t.agreement(null, {
        action: 'conclude-agreement',
        body: conclude(`SE-${uniqueSuffix()}`),
      })
    ).id;
    const commitment = await t.agreement(own.amended, {
      action: 'record-commitment',
      body: {
        obligor: 'US',
        kind: 'extend',
        text: 'Extend the suspension of 24 points by 90 days',
        measures: ['US-RECIPROCAL-CN'],
        sources: [statement],
      },
    });
    own.commitment = commitment.commitmentId ?? '';
    for (const [status, effectiveAt] of [
      ['breached', '2025-10-01T04:00:00Z'],
      ['fulfilled', '2025-08-12T04:01:00Z'],
    ] as const) {
      await t.agreement(own.amended, {
        action: 'change-commitment-status',
        commitmentId: own.commitment,
        body: { status, effectiveAt, sources: [statement] },
      });
    }
    const events = await t.store.readStream(`agreement-${own.amended}`);
    const breach = events.find(
      (event) => event.type === 'CommitmentStatusChanged' && event.payload.status === 'breached',
    );
    await t.agreement(own.amended, {
      action: 'retract-event',
      body: { eventId: breach?.eventId ?? '', reason: 'No breach was found', sources: [statement] },
    });
    const reaffirmed = await t.agreement(own.amended, {
      action: 'reaffirm-agreement',
      body: { reaffirms: 'GENEVA-2025', sources: [statement] },
    });
    await t.agreement(own.amended, {
      action: 'retract-event',
      body: {
        eventId: reaffirmed.eventIds[0],
        reason: 'Geneva was not named',
        sources: [statement],
      },
    });

    const unmade = await t.agreement(null, {
      action: 'conclude-agreement',
      body: conclude(`UNMADE-${uniqueSuffix()}`),
    });
    own.unmade = unmade.id;
    await t.agreement(own.unmade, {
      action: 'retract-event',
      body: { eventId: unmade.eventIds[0], reason: 'Never concluded', sources: [statement] },
    });
  }, 180_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('folds each agreement stream into one row as the worker runs it', async () => {
    await t.truncate(TABLE);
    const { runner, caughtUp } = await t.runner(projection);
    await caughtUp();
    await runner.stop();

    const heads: { id: string; version: string; position: string }[] = await t.dataSource.query(
      `SELECT substr(stream_id, 11) AS id, max(version)::text AS version, max(position)::text AS position
         FROM events WHERE stream_id LIKE 'agreement-%' GROUP BY stream_id ORDER BY 1`,
    );
    const rows = await t.rows(TABLE, KEY);
    expect(rows.map((row) => [row.agreement_id, row.version, row.last_position])).toEqual(
      heads.map((head) => [head.id, head.version, head.position]),
    );

    const kl = await rowOf(t.datasetId('agreement', 'KL-2025'));
    expect(kl).toMatchObject({ code: 'KL-2025', parties: expect.arrayContaining(['US', 'CN']) });
    expect(kl.concluded_at).toBeInstanceOf(Date);
    expect(kl.state.agreement?.reaffirms).toEqual([t.datasetId('agreement', 'MADRID-2025')]);
    const klCommitments = kl.state.agreement?.commitments ?? [];
    expect(klCommitments.length).toBeGreaterThan(5);
    const maritime = klCommitments.find((c) => c.id === t.datasetRef('us-maritime-suspend'));
    expect(maritime).toMatchObject({ obligor: 'US', status: 'fulfilled' });
    expect(commitmentStatusAt(maritime!, '2025-11-01T00:00:00Z')).toBe('pending');
    expect(commitmentStatusAt(maritime!, '2025-12-01T00:00:00Z')).toBe('fulfilled');
    const reciprocalId = t.datasetId('measure', 'US-RECIPROCAL-CN');
    expect(klCommitments.some((c) => c.measures.includes(reciprocalId))).toBe(true);

    const amended = await rowOf(own.amended);
    const [commitment] = amended.state.agreement?.commitments ?? [];
    expect(commitment).toMatchObject({ id: own.commitment, measures: [reciprocalId] });
    expect(commitment.statusHistory.map((change) => change.status)).toEqual(['fulfilled']);
    expect(commitmentStatusAt(commitment, '2025-08-01T00:00:00Z')).toBe('pending');
    expect(commitmentStatusAt(commitment, '2025-11-01T00:00:00Z')).toBe('fulfilled');
    expect(amended.state.agreement?.reaffirms).toEqual([]);

    const unmade = await rowOf(own.unmade);
    expect(unmade).toMatchObject({ code: null, title: null, concluded_at: null, version: '2' });
    expect(unmade.state.agreement).toBeNull();
  });

  it('changes nothing when batches it has applied are delivered again', async () => {
    await t.truncate(TABLE);
    await t.projectPages(projection, 50);
    const once = await t.rows(TABLE, KEY);

    await t.projectPages(projection, 50);
    await t.projectPages(projection, 7);
    const events = await t.allEvents();
    await t.projectBatch(
      projection,
      events.flatMap((event) => [event, event]),
    );
    await t.projectBatch(projection, events.slice(-25));

    expect(await t.rows(TABLE, KEY)).toEqual(once);
  });

  it('gives the same rows for a batch of interleaved streams as stream by stream', async () => {
    const events = await t.allEvents();
    const byStream = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      byStream.set(event.streamId, [...(byStream.get(event.streamId) ?? []), event]);
    }
    const agreementStreams = [...byStream.keys()].filter((id) => id.startsWith('agreement-'));
    expect(agreementStreams.length).toBeGreaterThanOrEqual(5);

    await t.truncate(TABLE);
    for (const streamEvents of [...byStream.values()].reverse()) {
      await t.projectBatch(projection, streamEvents);
    }
    const streamByStream = await t.rows(TABLE, KEY);

    // The global log as one batch: agreements' events among the measures' ones.
    await t.truncate(TABLE);
    await t.projectBatch(projection, events);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);

    const queues = [...byStream.values()].reverse().map((streamEvents) => [...streamEvents]);
    const roundRobin: RecordedEvent[] = [];
    while (queues.some((queue) => queue.length)) {
      for (const queue of queues) {
        const next = queue.shift();
        if (next) roundRobin.push(next);
      }
    }
    await t.truncate(TABLE);
    await t.projectBatch(projection, roundRobin);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);

    await t.truncate(TABLE);
    await t.projectPages(projection, 1);
    expect(await t.rows(TABLE, KEY)).toEqual(streamByStream);
  });

  it('rebuilds from position zero in one pass to the rows it built incrementally', async () => {
    await t.truncate(TABLE);
    const incremental = renamed(projection, `${AGREEMENT_STATUS_PROJECTION}:incremental`, 5);
    const live = await t.runner(incremental);
    await live.caughtUp();

    // New facts arrive while the projection is running.
    const late = await t.agreement(null, {
      action: 'conclude-agreement',
      body: conclude(`LATE-${uniqueSuffix()}`),
    });
    await t.agreement(late.id, {
      action: 'reaffirm-agreement',
      body: { reaffirms: 'KL-2025', sources: [statement] },
    });
    const klCommitment = await t.agreement('KL-2025', {
      action: 'record-commitment',
      body: { obligor: 'CN', kind: 'purchase', text: 'Buy soybeans', sources: [statement] },
    });
    const changed = await t.agreement('KL-2025', {
      action: 'change-commitment-status',
      commitmentId: klCommitment.commitmentId ?? '',
      body: { status: 'lapsed', effectiveAt: '2026-01-01T00:00:00Z', sources: [statement] },
    });
    await live.caughtUp();
    await live.runner.stop();
    const incrementally = await t.rows(TABLE, KEY);
    const eventCount = (await t.allEvents()).length;
    expect(incremental.batches).toBeGreaterThanOrEqual(Math.ceil(eventCount / 5));
    expect(incrementally.find((row) => row.agreement_id === late.id)).toMatchObject({
      version: '2',
    });
    expect(
      incrementally.find((row) => row.agreement_id === t.datasetId('agreement', 'KL-2025')),
    ).toMatchObject({ version: String(changed.version), last_position: String(changed.position) });

    await t.truncate(TABLE);
    const rebuild = renamed(projection, `${AGREEMENT_STATUS_PROJECTION}:rebuild`, 100_000);
    const rebuilding = await t.runner(rebuild);
    await rebuilding.caughtUp();
    await rebuilding.runner.stop();
    expect(rebuild.batches).toBe(1);

    const rebuilt = await t.rows(TABLE, KEY);
    expect(rebuilt).toHaveLength(incrementally.length);
    expect(rebuilt).toEqual(incrementally);
  });
});
