import type { INestApplicationContext } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { Test } from '@nestjs/testing';
import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { allMigrations } from '@app/migrations';
import { createTestDatabase, type TestDatabase } from '@app/testing';
import { DatasetFormatError, DatasetImporter } from './dataset-importer';
import { DatasetModule } from './dataset.module';
import { lift, recordMeasure, schedule, sources } from './testing/dataset-operations';

const rated = (percent: number) => ({ rate: { type: 'ad-valorem', percent } });
const suspend = (measure: string, ref: string, body: Record<string, unknown> = {}) =>
  schedule(`suspend-${ref}`, measure, ref, { startsAt: '2025-05-14T04:01:00Z', ...body });
const extend = (measure: string, suspension: string, key: string, endsAt: string) => ({
  key,
  action: 'extend-suspension',
  measure,
  suspension,
  // Decided before the suspension's first end (2025-08-12): an extension dated now could no
  // longer move an end that has passed.
  body: { endsAt, effectiveAt: '2025-08-01T04:00:00Z', sources },
});
const amendRate = (measure: string, key: string, percent: number) => ({
  key,
  action: 'amend-measure',
  measure,
  body: { ...rated(percent), effectiveAt: '2025-06-01T04:00:00Z', sources },
});

/**
 * The importer on PostgreSQL: a file is refused whole, every problem reported, when an
 * operation depends on what an earlier operation of the same file (or the database) decided.
 */
describe('DatasetImporter on PostgreSQL: nothing written unless every operation passes', () => {
  let db: TestDatabase;
  let app: INestApplicationContext;
  let importer: DatasetImporter;

  beforeAll(async () => {
    db = await createTestDatabase('dataset_importer');
    process.env.DATABASE_URL = db.url;
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule,
        DatabaseModule.forRoot({
          migrations: allMigrations,
          migrate: false,
          applicationName: 'test',
        }),
        CqrsModule.forRoot(),
        DatasetModule,
      ],
    }).compile();
    app = await moduleRef.init();
    importer = app.get(DatasetImporter);
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  const importFile = (dataset: string, operations: unknown[]) =>
    importer.import(importer.parse(JSON.stringify({ dataset, operations })));

  /** The lines of the refusal (without its heading and closing line); fails if it imports. */
  async function refusal(dataset: string, operations: unknown[]): Promise<string[]> {
    const error = await importFile(dataset, operations).then(
      () => {
        throw new Error('Expected the file to be refused, but it was imported');
      },
      (refused: unknown) => refused,
    );
    expect(error).toBeInstanceOf(DatasetFormatError);
    const lines = (error as DatasetFormatError).message.split('\n');
    expect(lines[0]).toBe('The dataset is not valid:');
    expect(lines.at(-1)).toBe('Nothing was imported.');
    return lines.slice(1, -1);
  }

  async function stored() {
    const { rows } = await db.pool.query<{ events: string; codes: string }>(
      `SELECT (SELECT count(*) FROM events) AS events,
              (SELECT count(*) FROM stream_codes) AS codes`,
    );
    return { events: Number(rows[0].events), codes: Number(rows[0].codes) };
  }

  it('refuses a part larger than the rate of a measure recorded earlier in the file, writing nothing', async () => {
    const before = await stored();

    const problems = await refusal('qa-part', [
      recordMeasure('QA-PART'),
      suspend('QA-PART', 'qa-part-pause', { part: { percentPoints: 15 } }),
    ]);

    expect(problems).toEqual([
      '  - operations[1] (suspend-qa-part-pause).body.part.percentPoints: Cannot suspend 15 points of a rate of which 10% is in force',
    ]);
    expect(await stored()).toEqual(before);
  });

  it('reports every problem only earlier operations can tell at once, in file order, naming refs as the file does', async () => {
    const before = await stored();

    const problems = await refusal('qa-many', [
      recordMeasure('QA-MANY-A'),
      suspend('QA-MANY-A', 'qa-many-pause'),
      // Before the suspension above starts, and before the end it already has.
      lift('lift-too-early', 'QA-MANY-A', 'qa-many-pause', { effectiveAt: '2025-05-01T00:00:00Z' }),
      extend('QA-MANY-A', 'qa-many-pause', 'extend-to-earlier', '2025-06-01T00:00:00Z'),
      recordMeasure('QA-MANY-B', rated(34)),
      suspend('QA-MANY-B', 'qa-many-b-24pp', { part: { percentPoints: 24 } }),
      amendRate('QA-MANY-B', 'amend-below-part', 10),
      // Refused; what depends on it (the lifting) is left out, not reported again.
      suspend('QA-MANY-B', 'qa-many-b-too-much', { part: { percentPoints: 11 } }),
      lift('lift-refused', 'QA-MANY-B', 'qa-many-b-too-much'),
      // A name the database does not know, found with the rest.
      {
        key: 'claim-on-nothing',
        action: 'record-claim',
        measure: 'QA-NO-SUCH-MEASURE',
        body: { party: 'CN', statement: 'A claim about nothing', sources },
      },
    ]);

    expect(problems).toEqual([
      '  - operations[2] (lift-too-early).body.effectiveAt: Suspension qa-many-pause cannot be lifted (2025-05-01T00:00:00.000Z) before it was decided or started (2025-05-14T04:01:00.000Z)',
      '  - operations[3] (extend-to-earlier).body.endsAt: An extension must move the end later than 2025-08-12T04:01:00.000Z',
      '  - operations[6] (amend-below-part).body.rate: A suspension holds 24 points; the rate cannot drop to 10%',
      '  - operations[7] (suspend-qa-many-b-too-much).body.part.percentPoints: Cannot suspend 11 points of a rate of which 10% is in force',
      '  - operations[9] (claim-on-nothing).measure: no measure is named QA-NO-SUCH-MEASURE, in the database or earlier in the file',
    ]);
    expect(await stored()).toEqual(before);
  });

  it('decides on what is stored: operations done before are skipped, the rest checked against them', async () => {
    await importFile('qa-stored', [recordMeasure('QA-STORED')]);
    const before = await stored();

    const problems = await refusal('qa-stored', [
      recordMeasure('QA-STORED'),
      recordMeasure('QA-STORED-TWO'),
      suspend('QA-STORED', 'qa-stored-pause', { part: { percentPoints: 15 } }),
    ]);

    expect(problems).toEqual([
      '  - operations[2] (suspend-qa-stored-pause).body.part.percentPoints: Cannot suspend 15 points of a rate of which 10% is in force',
    ]);
    expect(await stored()).toEqual(before);
  });

  it('refuses a key imported before with other content beside the other problems, writing nothing', async () => {
    await importFile('qa-edited', [recordMeasure('QA-EDITED')]);
    const before = await stored();

    const problems = await refusal('qa-edited', [
      {
        ...recordMeasure('QA-EDITED'),
        body: { ...recordMeasure('QA-EDITED').body, title: 'Edited' },
      },
      recordMeasure('QA-EDITED-TWO'),
      suspend('QA-EDITED-TWO', 'qa-edited-pause', { part: { percentPoints: 15 } }),
    ]);

    expect(problems).toEqual([
      '  - operations[0] (record-qa-edited): it was imported before with other content. A key names one fact for good: to correct it, add an operation with a new key (or a retraction)',
      '  - operations[2] (suspend-qa-edited-pause).body.part.percentPoints: Cannot suspend 15 points of a rate of which 10% is in force',
    ]);
    expect(await stored()).toEqual(before);
  });

  it('imports the corrected file whole after a refusal, and a second import changes nothing', async () => {
    const file = (points: number) => [
      recordMeasure('QA-VALID', rated(34)),
      suspend('QA-VALID', 'qa-valid-24pp', { part: { percentPoints: points } }),
      extend('QA-VALID', 'qa-valid-24pp', 'extend-qa-valid', '2026-11-10T05:01:00Z'),
      lift('lift-qa-valid', 'QA-VALID', 'qa-valid-24pp', { effectiveAt: '2025-10-01T04:00:00Z' }),
    ];
    const before = await stored();
    await refusal('qa-valid', file(40));
    expect(await stored()).toEqual(before);

    const first = await importFile('qa-valid', file(24));
    const afterFirst = await stored();
    const second = await importFile('qa-valid', file(24));

    expect(first).toEqual({ dataset: 'qa-valid', total: 4, added: 4, unchanged: 0, events: 5 });
    expect(afterFirst).toEqual({ events: before.events + 5, codes: before.codes + 1 });
    expect(second).toEqual({ dataset: 'qa-valid', total: 4, added: 0, unchanged: 4, events: 0 });
    expect(await stored()).toEqual(afterFirst);
  });
});
