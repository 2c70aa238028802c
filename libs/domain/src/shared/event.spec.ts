import { measureDecider } from '../measure/measure.decide';
import { testContext } from '../testing/decider-spec';
import { implemented, sources, usReciprocal } from '../testing/fixtures';
import { withMetadata } from '../testing/decider-spec';
import type { MeasureEvent } from '../measure/measure.events';
import { DomainError } from './domain-error';
import { decideAll, foldEvents } from './event';

describe('decideAll', () => {
  it('is all or nothing: one broken invariant rejects the whole batch', () => {
    const state = foldEvents(measureDecider, withMetadata<MeasureEvent>([implemented()]));
    expect(() =>
      decideAll(
        measureDecider,
        [
          {
            type: 'AmendMeasure',
            data: {
              rate: { type: 'ad-valorem', percent: 84 },
              effectiveAt: '2025-04-09T04:01:00Z',
              sources,
            },
          },
          {
            type: 'ImplementMeasure',
            data: {
              measureId: 'x',
              measure: usReciprocal,
              effectiveAt: '2025-04-09T04:01:00Z',
              sources,
            },
          },
        ],
        state,
        testContext(),
      ),
    ).toThrow(DomainError);
  });
});

describe('DomainError', () => {
  it('carries a stable code and the family of problem it belongs to', () => {
    const error = new DomainError('suspension-not-found', 'No suspension s');
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      code: 'suspension-not-found',
      kind: 'not-found',
      name: 'DomainError',
    });
    expect(new DomainError('invalid-party-code', 'x').kind).toBe('invalid');
    expect(new DomainError('measure-revoked', 'x').kind).toBe('conflict');
  });
});
