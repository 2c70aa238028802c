import { parseQueryString, queryEncodingProblem } from './query-string';

const plain = (query: string) => ({ ...parseQueryString(query) });

/** The problem answered for the query, or null when it may pass. */
function refusal(query: string): Record<string, unknown> | null {
  return queryEncodingProblem(parseQueryString(query))?.toDocument() ?? null;
}

describe('parseQueryString', () => {
  it('reads pairs as Fastify’s own parser does', () => {
    expect(plain('')).toEqual({});
    expect(plain('a=1&b=2')).toEqual({ a: '1', b: '2' });
    expect(plain('a=1&a=2&a=3')).toEqual({ a: ['1', '2', '3'] });
    expect(plain('flag&&empty=&=x')).toEqual({ flag: '', empty: '', '': 'x' });
    expect(plain('a=b=c')).toEqual({ a: 'b=c' });
    expect(plain('q=a+b%2Bc&k+1=v')).toEqual({ q: 'a b+c', 'k 1': 'v' });
    expect(plain('q=Z%C3%B6lle%20%E2%80%94%20%F0%9F%9A%A2')).toEqual({ q: 'Zölle — 🚢' });
    expect(plain('q=%25FF')).toEqual({ q: '%FF' });
  });

  it('gives a name such as __proto__ no special meaning', () => {
    const parsed = parseQueryString('__proto__=x&constructor=y');
    expect(Object.getPrototypeOf(parsed)).toBeNull();
    expect(Object.entries(parsed)).toEqual([
      ['__proto__', 'x'],
      ['constructor', 'y'],
    ]);
  });
});

describe('queryEncodingProblem', () => {
  it.each([
    ['q=%FF', 'q'],
    ['q=%E0%A4%A', 'q'],
    ['q=%C0%AF', 'q'],
    ['q=%ED%A0%80', 'q'],
    ['q=%F0%9F%98', 'q'],
    ['q=%', 'q'],
    ['q=%ZZ', 'q'],
    ['%FF=1', '%FF'],
    ['n%C3%A4me=%FF', 'näme'],
  ])('refuses %s, naming %s', (query, field) => {
    expect(refusal(`ok=1&${query}`)).toMatchObject({
      status: 400,
      code: 'invalid-query-encoding',
      errors: [{ field, message: 'is not valid percent-encoded UTF-8' }],
    });
  });

  it('names each malformed parameter once per occurrence, in order', () => {
    expect(refusal('a=%FF&b=ok&c=%&a=%FE')?.errors).toEqual([
      { field: 'a', message: expect.any(String) },
      { field: 'c', message: expect.any(String) },
      { field: 'a', message: expect.any(String) },
    ]);
  });

  it('lets well-formed queries pass, and any query it did not parse', () => {
    expect(refusal('q=%25FF&r=%C3%A9+x')).toBeNull();
    expect(queryEncodingProblem({ q: '%FF' })).toBeUndefined();
    expect(queryEncodingProblem(undefined)).toBeUndefined();
  });
});
