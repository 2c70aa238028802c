import type { Source } from '@app/domain';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { recordMeasureBody } from '@app/trade';
import { MeasureStatusLinkedTo1764960001000 } from './measure-status/measure-status-linked-to.migration';
import { MeasureStatusProjection } from './measure-status/measure-status.projection';
import { SuspensionEndsCoveredAtEnd1764960000000 } from './suspension-ends/suspension-ends-covered-at-end.migration';
import { SuspensionEndsProjection } from './suspension-ends/suspension-ends.projection';
import { TimelinePartiesInForce1764960002000 } from './timeline/timeline-parties-in-force.migration';
import { TimelineProjection } from './timeline/timeline.projection';
import {
  startProjectionTestApp,
  uniqueSuffix,
  type ProjectionTestApp,
} from './testing/projection-test-app';

const notice: Source = {
  issuer: 'Executive Office of the President',
  title: 'Executive order adjusting the duty',
  official: true,
  confidence: 'H',
};

const duty = (code: string, imposingParty: string, targetParty: string, scope: object) =>
  recordMeasureBody.parse({
    code,
    title: `Test duty (${code})`,
    kind: 'tariff',
    imposingParty,
    targetParties: [targetParty],
    rate: { type: 'ad-valorem', percent: 20 },
    scope: { description: 'All products', allProducts: true, ...scope },
    timeZone: 'America/New_York',
    effectiveAt: '2025-01-01T05:00:00Z',
    sources: [notice],
  });

/**
 * The migrations that add `suspension_ends.covered_at_end` and `measure_status.linked_to`, and
 * the one that narrows the timeline's `parties` to the scope in force, fill existing rows with
 * what the projections write for them, so that a database migrated in place answers as one
 * built from the log.
 */
describe('scope in force and links ever made, filled by their migrations on PostgreSQL', () => {
  let db: TestDatabase;
  let t: ProjectionTestApp;
  const own = { widened: '', early: '', late: '', answer: '', asked: '' };

  const coveredAtEnd = () =>
    t.dataSource.query<
      Array<{ measure_id: string; suspension_id: string; covered_at_end: string[] }>
    >('SELECT measure_id, suspension_id, covered_at_end FROM suspension_ends ORDER BY 1, 2');
  const timelineParties = () =>
    t.dataSource.query<
      Array<{ measure_id: string; type: string; effective_at: Date; parties: string[] }>
    >(
      `SELECT measure_id, type, effective_at, parties FROM timeline_facts
        WHERE measure_id IS NOT NULL ORDER BY position`,
    );
  const linkedTo = () =>
    t.dataSource.query<Array<{ measure_id: string; linked_to: string[] }>>(
      'SELECT measure_id, linked_to FROM measure_status ORDER BY 1',
    );

  beforeAll(async () => {
    db = await createTestDatabase('proj_scope_link_columns');
    process.env.DATABASE_URL = db.url;
    process.env.LOG_LEVEL = 'error';
    t = await startProjectionTestApp(db);

    // Hong Kong taken in from 2027: one suspension ends before, one after.
    own.widened = (
      await t.measure(null, {
        action: 'record-measure',
        body: duty(`WIDE-${uniqueSuffix()}`, 'US', 'CN', {}),
      })
    ).id;
    const suspend = async (startsAt: string, endsAt: string) =>
      (
        await t.measure(own.widened, {
          action: 'schedule-suspension',
          body: { startsAt, endsAt, sources: [notice] },
        })
      ).suspensionId ?? '';
    own.early = await suspend('2025-06-01T04:00:00Z', '2026-06-01T04:00:00Z');
    await t.measure(own.widened, {
      action: 'amend-measure',
      body: {
        scope: { description: 'All products', allProducts: true, inclusions: ['HK', 'MO'] },
        effectiveAt: '2027-01-01T05:00:00Z',
        sources: [notice],
      },
    });
    own.late = await suspend('2027-06-01T04:00:00Z', '2028-01-01T05:00:00Z');
    // Dropped again from 2029; a claim of a party it never covered.
    await t.measure(own.widened, {
      action: 'amend-measure',
      body: {
        scope: { description: 'All products', allProducts: true, inclusions: ['MO'] },
        effectiveAt: '2029-01-01T05:00:00Z',
        sources: [notice],
      },
    });
    await t.measure(own.widened, {
      action: 'record-claim',
      body: {
        party: 'JP',
        statement: 'Goods routed through Japan are covered.',
        effectiveAt: '2025-03-01T05:00:00Z',
        sources: [notice],
      },
    });

    // A countermeasure linked to two measures, one link retracted since.
    own.asked = (
      await t.measure(null, {
        action: 'record-measure',
        body: duty(`ASKED-${uniqueSuffix()}`, 'US', 'CN', {}),
      })
    ).id;
    const answer = await t.measure(null, {
      action: 'record-measure',
      body: recordMeasureBody.parse({
        ...duty(`ANSWER-${uniqueSuffix()}`, 'CN', 'US', {}),
        respondsTo: [own.asked, own.widened],
      }),
    });
    own.answer = answer.id;
    const link = (await t.store.readStream(`measure-${own.answer}`)).find(
      (event) =>
        event.type === 'CountermeasureLinked' &&
        (event.payload as { respondsTo: string }).respondsTo === own.asked,
    );
    await t.measure(own.answer, {
      action: 'retract-event',
      body: { eventId: link?.eventId ?? '', reason: 'Not an answer to it', sources: [notice] },
    });

    for (const projection of [
      MeasureStatusProjection,
      SuspensionEndsProjection,
      TimelineProjection,
    ]) {
      await t.projectPages(t.app.get(projection), 1000);
    }
  }, 120_000);

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('projects the scope at each end and every link, retracted ones too', async () => {
    const ends = new Map(
      (await coveredAtEnd()).map((row) => [row.suspension_id, row.covered_at_end]),
    );
    expect(ends.get(own.early)).toEqual(['CN']);
    expect(ends.get(own.late)).toEqual(['CN', 'HK', 'MO']);
    const links = new Map((await linkedTo()).map((row) => [row.measure_id, row.linked_to]));
    expect(links.get(own.answer)).toEqual([own.asked, own.widened].sort());
    expect(links.get(own.widened)).toEqual([]);
    const facts = (await timelineParties())
      .filter((row) => row.measure_id === own.widened)
      .map((row) => `${row.type} ${row.effective_at.toISOString()} ${row.parties.join(',')}`);
    expect(facts).toEqual([
      'MeasureImplemented 2025-01-01T05:00:00.000Z US,CN',
      'SuspensionStarted 2025-06-01T04:00:00.000Z US,CN',
      'MeasureScopeAmended 2027-01-01T05:00:00.000Z US,CN,HK,MO',
      'SuspensionStarted 2027-06-01T04:00:00.000Z US,CN,HK,MO',
      'MeasureScopeAmended 2029-01-01T05:00:00.000Z US,CN,HK,MO',
      'PartyClaimRecorded 2025-03-01T05:00:00.000Z US,CN,JP',
    ]);
  });

  it('fills the rows of a database migrated in place as the projections write them', async () => {
    const snapshot = async () => ({
      ends: await coveredAtEnd(),
      links: await linkedTo(),
      timeline: await timelineParties(),
    });
    const projected = await snapshot();
    const runner = t.dataSource.createQueryRunner();
    try {
      for (const migration of [
        new SuspensionEndsCoveredAtEnd1764960000000(),
        new MeasureStatusLinkedTo1764960001000(),
      ]) {
        await migration.down(runner);
        await migration.up(runner);
      }
      // As written before: the territories of every scope the measure ever had.
      await runner.query(`UPDATE timeline_facts SET parties = ARRAY['HK', 'MO', 'US', 'CN']
                           WHERE measure_id IS NOT NULL`);
      await new TimelinePartiesInForce1764960002000().up(runner);
    } finally {
      await runner.release();
    }
    expect(await snapshot()).toEqual(projected);
  });
});
