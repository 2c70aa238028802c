import { validateDataset } from './dataset-checks';
import { recordMeasure, schedule, sources } from './testing/dataset-operations';

/** What the whole-file check says of a file, one line per problem, as `path: message`. */
function problemsOf(operations: unknown[], file: object = {}): string[] {
  const checked = validateDataset({ dataset: 'qa-checks', operations, ...file });
  return (checked.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('the whole-file check of a dataset, before anything is written', () => {
  it('accepts a file the domain would take', () => {
    expect(problemsOf([recordMeasure('QA-A'), schedule('pause-a', 'QA-A', 'a-pause')])).toEqual([]);
  });

  it('refuses a time zone the domain does not know, even in the last operation', () => {
    expect(
      problemsOf([
        recordMeasure('QA-A'),
        recordMeasure('QA-B'),
        recordMeasure('QA-C', { timeZone: 'Mars/Olympus' }),
      ]),
    ).toEqual([
      'operations.2.body.timeZone: timeZone must be an IANA time zone name, got "Mars/Olympus"',
    ]);
  });

  it('refuses the values the schema lets through and the domain does not, all at once', () => {
    expect(
      problemsOf([
        recordMeasure('QA-A', { rate: { type: 'ad-valorem', percent: -5 }, imposingParty: 'XX' }),
        recordMeasure('QA-B', { targetParties: ['US'] }),
        recordMeasure('QA-C', { effectiveAt: '0000-06-01T00:00:00Z' }),
        schedule('pause-a', 'QA-A', 'a-pause', { duration: '-P90D' }),
        schedule('pause-b', 'QA-B', 'b-pause', {
          duration: undefined,
          endsAt: '2025-04-01T00:00:00Z',
        }),
        {
          key: 'amend-nothing',
          action: 'amend-measure',
          measure: 'QA-A',
          body: { effectiveAt: '2025-06-01T00:00:00Z', sources },
        },
        {
          key: 'claim-by-nobody',
          action: 'record-claim',
          measure: 'QA-A',
          body: { party: 'cn', statement: 'A claim', sources: [{ ...sources[0], url: 'x' }] },
        },
      ]),
    ).toEqual([
      'operations.0.body.imposingParty: imposingParty must be an assigned ISO 3166-1 alpha-2 code in upper case, got "XX"',
      'operations.0.body.rate.percent: rate.percent must not be negative',
      'operations.1.body.targetParties[0]: A measure imposed by US cannot target US itself',
      'operations.2.body.effectiveAt: effectiveAt must be between 0001-01-01 and 9999-12-31 (UTC), got "0000-06-01T00:00:00Z"',
      'operations.3.body.duration: duration must be a positive ISO 8601 duration such as P1Y or P90D, got "-P90D"',
      'operations.4.body.endsAt: A suspension must end after it starts (2025-05-01T00:00:00.000Z)',
      'operations.5.body: An amendment changes the rate, the scope or both',
      'operations.6.body.party: party must be an assigned ISO 3166-1 alpha-2 code in upper case, got "cn"',
      'operations.6.body.sources[0].url: sources[0].url must be an http(s) URL',
    ]);
  });

  it('lists duplicate keys and unknown refs beside the operations of the wrong shape', () => {
    expect(
      problemsOf(
        [
          recordMeasure('QA-A'),
          { ...schedule('pause-a', 'QA-A', 'a-pause'), colour: 'blue' },
          { key: 'e3', action: 'no-such-action' },
          { ...schedule('e3', 'QA-A', 'other-pause') },
          {
            key: 'lift-nothing',
            action: 'lift-suspension',
            measure: 'QA-A',
            suspension: 'nope',
            body: { effectiveAt: '2025-06-01T00:00:00Z', sources },
          },
          // Its ref is created by the operation of the wrong shape: fixing that one is enough.
          {
            key: 'lift-a',
            action: 'lift-suspension',
            measure: 'QA-A',
            suspension: 'a-pause',
            body: { effectiveAt: '2025-06-01T00:00:00Z', sources },
          },
        ],
        { extra: true },
      ),
    ).toEqual([
      expect.stringMatching(/^: Unrecognized key: "extra"$/),
      expect.stringMatching(/^operations\.1: Unrecognized key: "colour"$/),
      expect.stringMatching(/^operations\.2\.action: /),
      'operations.3.key: duplicate key e3',
      'operations.4.suspension: no suspension nope is created earlier in the file (refs name what an earlier operation created)',
    ]);
  });
});
