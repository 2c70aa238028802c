import { coveredPartiesOf, coversOn, partiesCoveredOn, type Measure } from './measure.state';

describe('the parties a measure covers', () => {
  // On China; Hong Kong from 1 March 2025, Macao instead from 1 June 2026.
  const measure = {
    targetParties: ['CN'],
    scopeHistory: [
      { value: { description: 'All products of China' } },
      { from: '2025-03-01T00:00:00Z', value: { inclusions: ['HK'] } },
      { from: '2026-06-01T00:00:00Z', value: { inclusions: ['MO'] } },
    ],
    scope: { inclusions: ['MO'] },
  } as unknown as Measure;

  it('on a date: the targets and the territories of the scope in force then', () => {
    expect(partiesCoveredOn(measure, '2025-01-01T00:00:00Z')).toEqual(['CN']);
    expect(partiesCoveredOn(measure, new Date('2025-03-01T00:00:00Z'))).toEqual(['CN', 'HK']);
    expect(partiesCoveredOn(measure, '2026-06-01T00:00:00Z')).toEqual(['CN', 'MO']);
    // No date: the latest scope.
    expect(partiesCoveredOn(measure, null)).toEqual(['CN', 'MO']);
    expect(coversOn(measure, 'HK', '2025-12-31T00:00:00Z')).toBe(true);
    expect(coversOn(measure, 'HK', '2026-07-01T00:00:00Z')).toBe(false);
  });

  it('over its whole history: every territory any scope took in', () => {
    expect(coveredPartiesOf(measure)).toEqual(['CN', 'HK', 'MO']);
  });
});
