import { poolOf } from '@app/database';
import { verifyHashChains } from '@app/event-store';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { measureStreamId, recordMeasureBody } from '@app/trade';
import { AgreementStatusProjection } from './agreement-status/agreement-status.projection';
import { MeasureStatusProjection } from './measure-status/measure-status.projection';
import { readModelAheadOfLog } from './read-models-ahead-of-log';
import {
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from './testing/projection-test-app';

describe('events deleted from the end of a stream, seen from the read models', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;

  beforeAll(async () => {
    db = await createTestDatabase('proj_ahead_of_log');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    await t.seed();
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  async function deleteEvents(where: string, parameters: unknown[]): Promise<void> {
    // What an operator with the table's DDL rights could do: the triggers refuse it otherwise.
    await t.dataSource.transaction(async (manager) => {
      await manager.query('ALTER TABLE events DISABLE TRIGGER events_immutable');
      await manager.query(`DELETE FROM events WHERE ${where}`, parameters);
      await manager.query('ALTER TABLE events ENABLE TRIGGER events_immutable');
    });
  }

  it('names the stream whose newest events are gone, and the consumer past the log', async () => {
    const recorded = await t.measure(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        code: `TAIL-${uniqueSuffix()}`,
        title: 'A duty whose amendment will be deleted',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 10 },
        effectiveAt: '2025-03-04T05:01:00Z',
        sources: [{ issuer: 'USTR', title: 'Notice', official: true }],
      }),
    });
    const amended = await t.measure(recorded.id, {
      action: 'amend-measure',
      body: {
        rate: { type: 'ad-valorem', percent: 20 },
        effectiveAt: '2025-04-01T04:01:00Z',
        sources: [{ issuer: 'USTR', title: 'Amendment', official: true }],
      },
    });
    for (const projection of [MeasureStatusProjection, AgreementStatusProjection]) {
      await (await t.runner(t.app.get(projection))).caughtUp();
    }
    expect(await readModelAheadOfLog(poolOf(t.dataSource))).toBeNull();
    expect((await verifyHashChains(poolOf(t.dataSource))).consumerAheadOfLog).toBeNull();

    const streamId = measureStreamId(recorded.id);
    // The amendment is the newest event of its stream and of the whole log.
    await deleteEvents('stream_id = $1 AND version = $2', [streamId, amended.version]);

    const [{ head }] = await t.dataSource.query<{ head: string }[]>(
      'SELECT max(position) AS head FROM events',
    );
    const chains = await verifyHashChains(poolOf(t.dataSource));
    expect(chains.firstBroken).toBeNull();
    expect(chains.consumerAheadOfLog).toEqual({
      consumer: expect.stringMatching(/^projection:/),
      checkpoint: amended.position,
      head: Number(head),
    });
    expect(await readModelAheadOfLog(poolOf(t.dataSource))).toEqual({
      streamId,
      readModelVersion: amended.version,
      logVersion: amended.version - 1,
    });

    await deleteEvents('stream_id = $1', [streamId]);
    expect(await readModelAheadOfLog(poolOf(t.dataSource))).toEqual({
      streamId,
      readModelVersion: amended.version,
      logVersion: 0,
    });
  });
});
