import { z } from 'zod';
import { ApiProblem } from './api-problem';
import { ZodPipe, parseBody, parseQuery } from './zod-body';

const rateBody = z.strictObject({
  rate: z.strictObject({ type: z.literal('ad-valorem'), percent: z.number().min(0) }),
  sources: z.array(z.strictObject({ url: z.url() })).min(1),
});

function problemOf(run: () => unknown): ApiProblem {
  try {
    run();
  } catch (error) {
    if (error instanceof ApiProblem) return error;
    throw error;
  }
  throw new Error('expected a problem');
}

describe('request validation', () => {
  it('refuses NUL characters and unpaired surrogates anywhere, naming each place', () => {
    // PostgreSQL cannot store either: a 400 here, not a 500 from the query.
    const problem = problemOf(() =>
      parseQuery(z.object({ q: z.string(), tags: z.array(z.string()) }).loose(), {
        q: 'a\u0000b',
        tags: ['ok', '\ud800x'],
        ['k\u0000']: 'v',
      }),
    );
    expect(problem.getStatus()).toBe(400);
    expect(problem.toDocument()).toMatchObject({
      code: 'validation-failed',
      errors: [
        { field: 'q', message: 'must not contain NUL characters or unpaired surrogates' },
        { field: 'tags.1', message: 'must not contain NUL characters or unpaired surrogates' },
        { field: 'k\u0000', message: 'must not contain NUL characters or unpaired surrogates' },
      ],
    });
    // A surrogate pair (an emoji) is fine.
    expect(parseQuery(z.object({ q: z.string() }), { q: 'tariff 🚢' })).toEqual({ q: 'tariff 🚢' });
  });

  it('refuses control characters but tab, line feed and carriage return, keys included', () => {
    const problem = problemOf(() =>
      parseBody(z.unknown(), {
        title: 'a\u001b[31m',
        lines: ['tab\there', 'two\r\nlines', 'bell\u0007', 'del\u007f'],
        ['k\u0001']: 'v',
        both: '\u0000\u0001',
      }),
    );
    const control =
      'must not contain control characters other than tab, line feed and carriage return';
    expect(problem.toDocument()).toMatchObject({
      status: 400,
      code: 'validation-failed',
      errors: [
        { field: 'title', message: control },
        { field: 'lines.2', message: control },
        { field: 'lines.3', message: control },
        { field: 'k\u0001', message: control },
        // What PostgreSQL cannot store is said first.
        { field: 'both', message: 'must not contain NUL characters or unpaired surrogates' },
      ],
    });
    expect(problem.extras.errors).toHaveLength(5);
    const fine = { text: 'tab\there, two\r\nlines, C1 \u0085 and emoji 🚢' };
    expect(parseBody(z.unknown(), fine)).toEqual(fine);
  });

  it('refuses a body nested thousands of levels deep with a 400, not a stack overflow', () => {
    // About 8 KB of JSON: far under the body limit, deep enough to overflow a recursive walk.
    const deep = JSON.parse('['.repeat(5000) + ']'.repeat(5000)) as unknown;
    const problem = problemOf(() => parseBody(rateBody, { rate: deep, sources: [] }));
    expect(problem.toDocument()).toMatchObject({
      status: 400,
      code: 'validation-failed',
      errors: [{ field: `rate${'.0'.repeat(31)}`, message: expect.stringContaining('32 levels') }],
    });
    // A body within the depth still has every unstorable string named, in the order written.
    const nested = { a: [{ b: '\u0000' }], c: 'ok', d: { e: { f: '\ud800' } } };
    expect(problemOf(() => parseBody(z.unknown(), nested)).toDocument()).toMatchObject({
      errors: [{ field: 'a.0.b' }, { field: 'd.e.f' }],
    });
  });

  it('returns the parsed value', () => {
    const body = { rate: { type: 'ad-valorem', percent: 34 }, sources: [{ url: 'https://x.y' }] };
    expect(parseBody(rateBody, body)).toEqual(body);
  });

  it('names every offending field with a dotted path, unknown fields one by one', () => {
    const problem = problemOf(() =>
      parseBody(rateBody, {
        rate: { type: 'ad-valorem', percent: -1, basis: 'x' },
        sources: [{ url: 'nope' }],
        note: 'x',
        extra: true,
      }),
    );
    expect(problem.getStatus()).toBe(400);
    expect(problem.toDocument()).toMatchObject({
      code: 'validation-failed',
      type: 'https://accord.dev/problems/validation-failed',
      detail: 'The request body is invalid.',
    });
    const fields = (problem.extras.errors as { field: string }[]).map((error) => error.field);
    expect(fields.sort()).toEqual(['extra', 'note', 'rate.basis', 'rate.percent', 'sources.0.url']);
  });

  it('names the whole body when it is not an object at all', () => {
    const problem = problemOf(() => parseBody(rateBody, undefined));
    expect(problem.extras.errors).toEqual([{ field: 'body', message: expect.any(String) }]);
  });

  it('validates query strings the same way', () => {
    const query = z.strictObject({ limit: z.coerce.number().int().max(100) });
    expect(parseQuery(query, { limit: '20' })).toEqual({ limit: 20 });
    const problem = problemOf(() => parseQuery(query, { limit: '500', sort: 'x' }));
    expect(problem.detail).toBe('The request query is invalid.');
    expect((problem.extras.errors as { field: string }[]).map((e) => e.field).sort()).toEqual([
      'limit',
      'sort',
    ]);
  });

  it('as a pipe, prefixes the parameter name', () => {
    const pipe = new ZodPipe(z.uuid());
    const problem = problemOf(() => pipe.transform('x', { type: 'param', data: 'id' }));
    expect(problem.extras.errors).toEqual([{ field: 'id', message: expect.any(String) }]);
  });
});
