import { checkReferences } from './dataset-references';
import { datasetSchema } from './dataset-checks';
import type { DatasetOperation } from './dataset.schema';
import { deterministicUuid } from './deterministic-id';
import { recordMeasure, sources } from './testing/dataset-operations';

const schedule = (key: string, measure: string, ref: string, startsWhen?: object) => ({
  key,
  action: 'schedule-suspension',
  measure,
  ref,
  body: {
    ...(startsWhen ? { startsWhen } : { startsAt: '2025-05-01T00:00:00Z' }),
    duration: 'P90D',
    sources,
  },
});
const extend = (key: string, measure: string, suspension: string) => ({
  key,
  action: 'extend-suspension',
  measure,
  suspension,
  body: { duration: 'P90D', sources },
});
const grantExclusion = (key: string, measure: string, ref: string) => ({
  key,
  action: 'grant-exclusion',
  measure,
  ref,
  body: { description: 'Some goods', effectiveAt: '2025-05-01T00:00:00Z', sources },
});

/** What a file's parse says about what its operations name, one line per problem. */
function problemsOf(operations: object[]): string[] {
  const parsed = datasetSchema.safeParse({ dataset: 'qa-refs', operations });
  if (parsed.success) return [];
  return parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('what the operations of a dataset file name', () => {
  it('accepts refs created earlier on the same measure, however its code is written', () => {
    expect(
      problemsOf([
        recordMeasure('QA-A'),
        schedule('pause-a', 'QA-A', 'a-pause'),
        extend('extend-a', 'qa-a', 'a-pause'),
        extend('extend-a-by-id', deterministicUuid('qa-refs:measure:QA-A'), 'a-pause'),
      ]),
    ).toEqual([]);
  });

  it('refuses a ref no earlier operation created, even one created later', () => {
    expect(
      problemsOf([
        recordMeasure('QA-A'),
        extend('extend-early', 'QA-A', 'a-pause'),
        schedule('pause-a', 'QA-A', 'a-pause'),
      ]),
    ).toEqual([
      'operations.1.suspension: no suspension a-pause is created earlier in the file (refs name what an earlier operation created)',
    ]);
  });

  it('refuses a ref of another kind or of another measure, and a ref created twice', () => {
    expect(
      problemsOf([
        recordMeasure('QA-A'),
        recordMeasure('QA-B'),
        schedule('pause-a', 'QA-A', 'a-pause'),
        grantExclusion('exclude-a', 'QA-A', 'a-exclusion'),
        extend('extend-on-b', 'QA-B', 'a-pause'),
        extend('extend-exclusion', 'QA-A', 'a-exclusion'),
        schedule('pause-b', 'QA-B', 'a-pause'),
        schedule('pause-b-when-a', 'QA-B', 'b-pause', { measure: 'QA-B', suspension: 'a-pause' }),
      ]),
    ).toEqual([
      'operations.4.suspension: suspension a-pause belongs to measure QA-A (operations[2]), not to QA-B',
      'operations.5.suspension: a-exclusion is an exclusion (operations[3]), not a suspension',
      'operations.6.ref: ref a-pause is already created by operations[2]: every ref in a file is unique',
      'operations.7.body.startsWhen.suspension: suspension a-pause belongs to measure QA-A (operations[2]), not to QA-B',
    ]);
  });

  it('refuses a code used before the operation that records it, and a code recorded twice', () => {
    expect(
      problemsOf([
        schedule('pause-early', 'QA-A', 'a-pause'),
        recordMeasure('QA-A'),
        { ...recordMeasure('qa-a'), key: 'record-qa-a-again' },
      ]),
    ).toEqual([
      'operations.0.measure: the measure QA-A is recorded only later, by operations[1]; record it first',
      'operations.2.body.code: the measure code qa-a is already recorded by operations[1]',
    ]);
  });

  it('leaves the codes the file does not record to the database', () => {
    const operations = [
      recordMeasure('QA-A'),
      schedule('pause-a', 'QA-A', 'a-pause'),
      schedule('pause-elsewhere', 'US-RECIPROCAL-CN', 'elsewhere-pause', {
        measure: 'QA-A',
        suspension: 'a-pause',
      }),
      {
        key: 'claim',
        action: 'record-claim',
        agreement: 'KL-2025',
        body: { party: 'CN', statement: 'A claim', sources },
      },
    ] as DatasetOperation[];
    const check = checkReferences({ operations }, (name) => deterministicUuid(`qa-refs:${name}`));
    expect(check.problems).toEqual([]);
    expect(check.lookUp).toEqual([
      { kind: 'measure', name: 'US-RECIPROCAL-CN', index: 2, path: ['measure'] },
      { kind: 'agreement', name: 'KL-2025', index: 3, path: ['agreement'] },
    ]);
    expect(check.recorded).toEqual([
      {
        kind: 'measure',
        code: 'QA-A',
        id: deterministicUuid('qa-refs:measure:QA-A'),
        index: 0,
        path: ['body', 'code'],
      },
    ]);
  });
});
