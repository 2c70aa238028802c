import { createApiKeyInputSchema, roleGrants } from './api-key';
import { displayPrefix, generateApiKeySecret } from './api-key-secret';

describe('roles', () => {
  it.each([
    ['viewer', 'viewer', true],
    ['viewer', 'editor', false],
    ['viewer', 'admin', false],
    ['editor', 'viewer', true],
    ['editor', 'editor', true],
    ['editor', 'admin', false],
    ['admin', 'viewer', true],
    ['admin', 'editor', true],
    ['admin', 'admin', true],
  ] as const)('a %s key may do what needs %s: %s', (held, required, granted) => {
    expect(roleGrants(held, required)).toBe(granted);
  });
});

describe('secrets', () => {
  it('are acc_ and 32 random bytes, shown by a short prefix', () => {
    const secret = generateApiKeySecret();
    expect(secret).toMatch(/^acc_[A-Za-z0-9_-]{43}$/);
    expect(generateApiKeySecret()).not.toBe(secret);
    expect(displayPrefix(secret)).toBe(secret.slice(0, 10));
  });
});

describe('createApiKeyInputSchema', () => {
  it('takes a trimmed name and a known role, and nothing else', () => {
    expect(createApiKeyInputSchema.parse({ name: ' ci bot ', role: 'editor' })).toEqual({
      name: 'ci bot',
      role: 'editor',
    });
    const refused = createApiKeyInputSchema.safeParse({ name: '-x', role: 'root', extra: 1 });
    expect(refused.error?.issues.map((issue) => issue.code).sort()).toEqual([
      'invalid_format',
      'invalid_value',
      'unrecognized_keys',
    ]);
  });
});
