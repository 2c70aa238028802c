import {
  decideAll,
  type DecisionContext,
  type Measure,
  type MeasureCommand,
  measureDecider,
  type Rate,
  type Source,
} from '@app/domain';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { randomUUID } from 'node:crypto';
import { MeasureStatusRevokedListItems1765530000000 } from './measure-status-revoked-list-items.migration';
import { toListEntry, toMeasureSummary } from './measure-view';

const sources: Source[] = [{ issuer: 'Federal Register', title: 'Notice', official: true }];
const REVOKED_AT = '2026-06-01T04:00:00Z';
/** When the rows were written: after the revocation, so their items read `revoked`. */
const WRITTEN = new Date('2026-11-01T00:00:00Z');

function measureOf(rate: Rate, later: MeasureCommand[], revoke = true): Measure {
  let next = 0;
  const context: DecisionContext = {
    now: '2026-01-15T00:00:00.000Z',
    actor: 'spec',
    newId: () => `id-${(next += 1)}`,
  };
  const commands: MeasureCommand[] = [
    {
      type: 'RecordMeasure',
      data: {
        measureId: randomUUID(),
        measure: {
          title: 'An additional duty',
          kind: 'tariff',
          imposingParty: 'US',
          targetParties: ['CN'],
          rate,
          timeZone: 'America/New_York',
        },
        effectiveAt: '2026-01-01T05:00:00Z',
        sources,
      },
    },
    ...later,
    ...(revoke
      ? [{ type: 'RevokeMeasure', data: { effectiveAt: REVOKED_AT, sources } } as MeasureCommand]
      : []),
  ];
  return decideAll(measureDecider, commands, measureDecider.initialState(), context).state.measure!;
}

const percent = (value: number): Rate => ({ type: 'ad-valorem', percent: value });
const amendedInJuly: MeasureCommand = {
  type: 'AmendMeasure',
  data: { rate: percent(50), effectiveAt: '2026-07-15T04:00:00Z', sources },
};

/**
 * The rows as the release before this migration wrote them: its list items showed a revoked
 * measure's `fullRate` with the amendments and phases dated past the revocation.
 */
describe('MeasureStatusRevokedListItems', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('proj_revoked_list_items');
  });

  afterAll(async () => {
    await db?.drop();
  });

  async function storeRow(measure: Measure, writtenAt: Date, oldFullRate: Rate) {
    const entry = toListEntry(measure);
    const item = { ...toMeasureSummary(entry, writtenAt, 2), fullRate: oldFullRate };
    await db.pool.query(
      `INSERT INTO measure_status (measure_id, title, kind, imposing_party, target_parties,
                                   measure, list_entry, list_item, version, last_position)
       VALUES ($1, $2, 'tariff', 'US', '{CN}', $3, $4, $5, 2, 1)`,
      [
        measure.id,
        measure.title,
        JSON.stringify(measure),
        JSON.stringify(entry),
        JSON.stringify(item),
      ],
    );
    return item;
  }

  async function storedItem(measureId: string) {
    const { rows } = await db.pool.query<{ list_item: unknown }>(
      'SELECT list_item FROM measure_status WHERE measure_id = $1',
      [measureId],
    );
    return rows[0].list_item;
  }

  it('drops the items that showed a rate dated past the revocation, and only those', async () => {
    const amended = measureOf(percent(34), [amendedInJuly]);
    const phased = measureOf(
      {
        type: 'ad-valorem',
        percent: 34,
        schedule: [{ from: '2026-09-01T04:00:00.000Z', percent: 40 }],
      },
      [],
    );
    const plain = measureOf(percent(34), []);
    const amendedBefore = measureOf(percent(34), [
      { ...amendedInJuly, data: { ...amendedInJuly.data, effectiveAt: '2026-03-01T05:00:00Z' } },
    ]);
    const notRevoked = measureOf(percent(34), [amendedInJuly], false);
    const writtenBeforeRevocation = measureOf(percent(34), [amendedInJuly]);

    await storeRow(amended, WRITTEN, percent(50));
    await storeRow(phased, WRITTEN, percent(40));
    const kept = [
      await storeRow(plain, WRITTEN, percent(34)),
      await storeRow(amendedBefore, WRITTEN, percent(50)),
      await storeRow(notRevoked, WRITTEN, percent(50)),
      // Written before the revocation took effect: in force then, and held only until it.
      await storeRow(writtenBeforeRevocation, new Date('2026-05-01T00:00:00Z'), percent(34)),
    ];

    await db.migrate(new MeasureStatusRevokedListItems1765530000000(), 'up');

    expect(await storedItem(amended.id)).toBeNull();
    expect(await storedItem(phased.id)).toBeNull();
    expect(await storedItem(plain.id)).toEqual(kept[0]);
    expect(await storedItem(amendedBefore.id)).toEqual(kept[1]);
    expect(await storedItem(notRevoked.id)).toEqual(kept[2]);
    expect(await storedItem(writtenBeforeRevocation.id)).toEqual(kept[3]);
    // What lists compute instead, from the entry: the rate the measure ended with.
    for (const measure of [amended, phased]) {
      expect(toMeasureSummary(toListEntry(measure), WRITTEN, 2)).toMatchObject({
        status: 'revoked',
        fullRate: percent(34),
      });
    }
  });
});
