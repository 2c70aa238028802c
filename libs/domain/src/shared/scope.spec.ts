import { toScope } from './scope';

describe('scope', () => {
  it('keeps the economy-wide flag of a measure that covers all products', () => {
    expect(toScope({ description: 'All goods originating in the US', allProducts: true })).toEqual({
      description: 'All goods originating in the US',
      allProducts: true,
    });
    expect(toScope({ hsCodes: ['8703'], allProducts: false })).toEqual({
      hsCodes: ['8703'],
      allProducts: false,
    });
  });

  it('leaves the flag out when it is not given: a product list is the default', () => {
    expect(toScope({ description: 'Coal and LNG' })).toEqual({ description: 'Coal and LNG' });
  });

  it('refuses a flag that is not a boolean, naming the field', () => {
    expect(() => toScope({ allProducts: 'yes' }, 'measure.scope')).toThrow(
      expect.objectContaining({
        code: 'invalid-scope',
        details: expect.objectContaining({ field: 'measure.scope.allProducts' }),
      }),
    );
  });
});
