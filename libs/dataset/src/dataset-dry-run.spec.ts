import { validateDataset } from './dataset-checks';
import { dryRunImport, type RecordedState } from './dataset-dry-run';
import { lift, recordMeasure, schedule, sources } from './testing/dataset-operations';

const conclude = (code: string) => ({
  key: `conclude-${code.toLowerCase()}`,
  action: 'conclude-agreement',
  body: { code, title: code, parties: ['US', 'CN'], concludedAt: '2025-05-12T08:00:00Z', sources },
});
const reaffirm = (key: string, agreement: string, reaffirms: string) => ({
  key,
  action: 'reaffirm-agreement',
  agreement,
  body: { reaffirms, sources },
});

/** An empty database: every stream starts empty, no code is taken, no key imported. */
const nothingRecorded: RecordedState = {
  resolve: () => Promise.resolve(null),
  readStream: () => Promise.resolve([]),
  findCommand: () => Promise.resolve(null),
};

/** The dry run's refusals of a file, one line each as `operations[i].path: message`. */
async function refusalsOf(operations: unknown[]): Promise<string[]> {
  const checked = validateDataset({ dataset: 'qa-dry-run', operations });
  if (!checked.dataset) throw new Error(`Not a valid file: ${JSON.stringify(checked.issues)}`);
  const problems = await dryRunImport(checked.dataset, nothingRecorded, {
    now: new Date('2026-01-01T00:00:00Z'),
    actor: 'import',
  });
  return problems.map(({ index, path, message }) =>
    [`operations[${index}]`, ...path].join('.').concat(`: ${message}`),
  );
}

describe('the dry run of a file, each operation decided on what the earlier ones decided', () => {
  it('finds nothing in a file the domain takes: a conditional suspension on one started above', async () => {
    expect(
      await refusalsOf([
        recordMeasure('QA-US'),
        schedule('pause-us', 'QA-US', 'qa-us-pause'),
        recordMeasure('QA-CN', {
          imposingParty: 'CN',
          targetParties: ['US'],
          timeZone: 'Asia/Shanghai',
          respondsTo: ['QA-US'],
        }),
        schedule('pause-cn', 'QA-CN', 'qa-cn-pause', {
          startsAt: undefined,
          startsWhen: { measure: 'QA-US', suspension: 'qa-us-pause' },
          part: { percentPoints: 10 },
        }),
        lift('lift-cn', 'QA-CN', 'qa-cn-pause'),
      ]),
    ).toEqual([]);
  });

  it('refuses a suspension lifted twice, naming it by its ref', async () => {
    expect(
      await refusalsOf([
        recordMeasure('QA-TWICE'),
        schedule('pause', 'QA-TWICE', 'qa-twice-pause'),
        lift('lift', 'QA-TWICE', 'qa-twice-pause'),
        lift('lift-again', 'QA-TWICE', 'qa-twice-pause'),
      ]),
    ).toEqual([expect.stringMatching(/^operations\[3\]: Suspension qa-twice-pause is lifted/)]);
  });

  it('refuses a countermeasure answering a measure of its own party recorded above, and leaves out what uses it', async () => {
    expect(
      await refusalsOf([
        recordMeasure('QA-FIRST'),
        recordMeasure('QA-SECOND', { respondsTo: ['QA-FIRST'] }),
        // On a measure that is not recorded: left out, not reported as a missing measure.
        schedule('pause-second', 'QA-SECOND', 'qa-second-pause', { part: { percentPoints: 50 } }),
        lift('lift-second', 'QA-SECOND', 'qa-second-pause'),
      ]),
    ).toEqual([
      'operations[1]: A countermeasure by US must answer a measure that targets US and is imposed by one of its own targets',
    ]);
  });

  it('refuses a reaffirmation that closes a cycle with one made above', async () => {
    expect(
      await refusalsOf([
        conclude('QA-GENEVA'),
        conclude('QA-MADRID'),
        reaffirm('madrid-reaffirms-geneva', 'QA-MADRID', 'QA-GENEVA'),
        reaffirm('geneva-reaffirms-madrid', 'QA-GENEVA', 'QA-MADRID'),
      ]),
    ).toEqual([
      expect.stringMatching(
        /^operations\[3\]\.body\.reaffirms: Agreement QA-GENEVA cannot reaffirm QA-MADRID/,
      ),
    ]);
  });
});
