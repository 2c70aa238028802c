import { createTestDatabase, type TestDatabase } from '@app/testing';
import { startProjectionTestApp, type ProjectionTestApp } from '../testing/projection-test-app';
import { exactStreams, timelineFactRows, type TimelineFactRow } from '../testing/timeline-rows';
import { claim, pause, recordTariff, retract, revoke } from '../testing/test-writes';
import { TimelineRevocationsBroughtForward1765510000000 } from './timeline-revocations-brought-forward.migration';
import { TimelineProjection } from './timeline.projection';

/**
 * A revocation brought forward no longer leaves the first one on the timeline: the migration
 * marks the rows written before that as the projection now writes them, and sets their streams
 * to be recomputed at their next append.
 */
describe('TimelineRevocationsBroughtForward on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: TimelineProjection;
  const own = { forward: '', firstOfForward: '', retracted: '', once: '' };

  const facts = () => timelineFactRows(t);
  /** As the projection wrote revocations before: none marked but by a retraction. */
  const unmarkRevocations = () =>
    t.dataSource.query(
      `UPDATE timeline_facts f SET retracted_by = NULL, retracted_at = NULL,
              retracted_during = '{}'
        WHERE f.type = 'MeasureRevoked'
          AND (f.retracted_by IS NULL
               OR f.retracted_by IN (SELECT event_id FROM timeline_facts
                                      WHERE type = 'MeasureRevoked'))`,
    );
  const migrate = async () => {
    const runner = t.dataSource.createQueryRunner();
    try {
      await new TimelineRevocationsBroughtForward1765510000000().up(runner);
    } finally {
      await runner.release();
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('proj_timeline_revocations');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(TimelineProjection);

    own.forward = await recordTariff(t, 'TLFWD');
    own.firstOfForward = await revoke(t, own.forward, '2024-11-01T04:00:00Z');
    await revoke(t, own.forward, '2024-09-01T04:00:00Z');
    // Brought forward, and that retracted: the first stands again.
    own.retracted = await recordTariff(t, 'TLBACK');
    await revoke(t, own.retracted, '2024-11-01T04:00:00Z');
    await pause();
    await retract(
      t,
      { measure: own.retracted },
      await revoke(t, own.retracted, '2024-09-01T04:00:00Z'),
    );
    own.once = await recordTariff(t, 'TLONCE');
    await revoke(t, own.once, '2024-11-01T04:00:00Z');
    await t.projectPages(projection, 1000);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('marks the rows of a revocation brought forward as the projection writes them', async () => {
    const projected = await facts();
    const first = projected.find((row) => row.event_id === own.firstOfForward);
    expect(first?.retracted_by).toEqual(expect.any(String));
    expect(first?.retracted_during).not.toBe('{}');

    await unmarkRevocations();
    expect((await facts()).find((row) => row.event_id === own.firstOfForward)).toMatchObject({
      retracted_by: null,
      retracted_during: '{}',
    });
    await migrate();

    const migrated = await facts();
    const outside = (rows: TimelineFactRow[]) =>
      rows.filter((row) => row.stream_id !== `measure-${own.retracted}`);
    // Exact wherever no revocation was retracted.
    expect(outside(migrated)).toEqual(outside(projected));
    expect(await exactStreams(t)).toMatchObject({
      [`measure-${own.forward}`]: false,
      [`measure-${own.retracted}`]: false,
      [`measure-${own.once}`]: true,
    });
    // Nothing is superseded now where the earlier revocation was retracted.
    expect(
      migrated
        .filter((row) => row.stream_id === `measure-${own.retracted}`)
        .map((row) => [row.type, row.retracted_by === null]),
    ).toEqual([
      ['MeasureImplemented', true],
      ['MeasureRevoked', true],
      ['MeasureRevoked', false],
    ]);

    // Their next append recomputes them: the rows a projection from zero writes.
    await claim(t, own.forward, 'Revoked too late');
    await claim(t, own.retracted, 'Revoked too late');
    await t.projectPages(projection, 1000);
    const appended = await facts();
    expect(Object.values(await exactStreams(t)).every(Boolean)).toBe(true);
    await t.truncate('timeline_facts');
    await t.truncate('timeline_streams');
    await t.projectPages(projection, 1000);
    expect(appended).toEqual(await facts());
  });
});
