import { createTestDatabase, type TestDatabase } from '@app/testing';
import { startProjectionTestApp, type ProjectionTestApp } from '../testing/projection-test-app';
import { exactStreams, timelineFactRows, type TimelineFactRow } from '../testing/timeline-rows';
import {
  amendRate,
  claim,
  pause,
  recordTariff,
  retract,
  revoke,
  scheduleSuspension,
} from '../testing/test-writes';
import { TimelineFactsEndedByRevocation1765520000000 } from './timeline-facts-ended-by-revocation.migration';
import { TimelineProjection } from './timeline.projection';

/**
 * A revocation now ends on the timeline the facts recorded before it for dates it reaches: the
 * migration marks the rows written before that as the projection now writes them, and sets their
 * streams to be recomputed at their next append.
 */
describe('TimelineFactsEndedByRevocation on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  let projection: TimelineProjection;
  const own = { withdrawn: '', retracted: '', revokedLast: '' };
  const ended = { implemented: '', november: '', august: '' };

  const facts = () => timelineFactRows(t);
  /**
   * As the projection wrote rows before: only revocations marked by a revocation, and nothing
   * else ever out (here no other fact is retracted).
   */
  const unmarkEndedFacts = () =>
    t.dataSource.query(
      `UPDATE timeline_facts f SET retracted_by = NULL, retracted_at = NULL,
              retracted_during = '{}'
        WHERE f.type <> 'MeasureRevoked'`,
    );
  const migrate = async () => {
    const runner = t.dataSource.createQueryRunner();
    try {
      await new TimelineFactsEndedByRevocation1765520000000().up(runner);
    } finally {
      await runner.release();
    }
  };
  /** Announced, to take effect in October 2024, with facts on record for dates after that. */
  const withdrawnLater = async (prefix: string) => {
    const measure = await recordTariff(t, prefix, {
      announcedAt: '2024-02-01T05:00:00Z',
      effectiveAt: '2024-10-01T04:00:00Z',
    });
    const suspension = await scheduleSuspension(t, measure, {
      startsAt: '2024-05-01T04:00:00Z',
      endsAt: '2025-03-01T05:00:00Z',
      part: { percentPoints: 2 },
    });
    // Decided in September on a trigger started in May: judged by that start, it stays.
    await scheduleSuspension(t, measure, {
      startsWhen: { measure, suspension: suspension.suspensionId ?? '' },
      duration: 'P1Y',
      part: { percentPoints: 1 },
      effectiveAt: '2024-09-15T04:00:00Z',
    });
    return {
      measure,
      august: await amendRate(t, measure, 11, '2024-08-01T04:00:00Z'),
      november: await amendRate(t, measure, 12, '2024-11-01T04:00:00Z'),
    };
  };

  beforeAll(async () => {
    db = await createTestDatabase('proj_timeline_ended');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);
    projection = t.app.get(TimelineProjection);

    // Revoked from September, then brought forward to July: the November amendment drops out
    // from the first revocation on, the August one from the second.
    const withdrawn = await withdrawnLater('TLEND');
    own.withdrawn = withdrawn.measure;
    ended.november = withdrawn.november;
    ended.august = withdrawn.august;
    ended.implemented = (await t.store.readStream(`measure-${own.withdrawn}`)).find(
      (event) => event.type === 'MeasureImplemented',
    )?.eventId as string;
    await revoke(t, own.withdrawn, '2024-09-01T04:00:00Z');
    await revoke(t, own.withdrawn, '2024-07-01T04:00:00Z');
    // Revoked, and that retracted: everything stands again.
    own.retracted = (await withdrawnLater('TLENDBACK')).measure;
    const revocation = await revoke(t, own.retracted, '2024-09-01T04:00:00Z');
    await pause();
    await retract(t, { measure: own.retracted }, revocation);
    // Revoked after everything on record took effect: nothing ends.
    own.revokedLast = await recordTariff(t, 'TLENDLAST');
    await revoke(t, own.revokedLast, '2024-11-01T04:00:00Z');
    await t.projectPages(projection, 1000);
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('marks the facts a revocation ends as the projection writes them', async () => {
    const projected = await facts();
    const endedIds = Object.values(ended);
    expect(
      projected.filter((row) => endedIds.includes(row.event_id)).map((row) => row.retracted_by),
    ).toEqual([expect.any(String), expect.any(String), expect.any(String)]);

    await unmarkEndedFacts();
    await migrate();

    const migrated = await facts();
    const outside = (rows: TimelineFactRow[]) =>
      rows.filter((row) => row.stream_id !== `measure-${own.retracted}`);
    // Exact wherever no revocation was retracted, for every knownAt.
    expect(outside(migrated)).toEqual(outside(projected));
    expect(await exactStreams(t)).toMatchObject({
      [`measure-${own.withdrawn}`]: false,
      [`measure-${own.retracted}`]: false,
      [`measure-${own.revokedLast}`]: true,
    });
    // Nothing is ended now where the revocation was retracted.
    expect(
      migrated
        .filter((row) => row.stream_id === `measure-${own.retracted}`)
        .filter((row) => row.retracted_by !== null)
        .map((row) => row.type),
    ).toEqual(['MeasureRevoked']);

    // Their next append recomputes them: the rows a projection from zero writes.
    await claim(t, own.withdrawn, 'Withdrawn too late');
    await claim(t, own.retracted, 'Withdrawn too late');
    await t.projectPages(projection, 1000);
    const appended = await facts();
    expect(Object.values(await exactStreams(t)).every(Boolean)).toBe(true);
    await t.truncate('timeline_facts');
    await t.truncate('timeline_streams');
    await t.projectPages(projection, 1000);
    expect(appended).toEqual(await facts());
  });
});
