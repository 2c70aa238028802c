import { Logger } from '@nestjs/common';
import type { ApiKeysService } from '@app/api-keys';
import { loadConfig } from '@app/config';
import { AdminKeyBootstrap } from './admin-key.bootstrap';

describe('AdminKeyBootstrap', () => {
  const apiKeys = {
    bootstrapAdmin: jest.fn().mockResolvedValue({ id: 'k', created: false, revokedId: null }),
  } as unknown as ApiKeysService;
  let warnings: string[];

  beforeEach(() => {
    warnings = [];
    jest
      .spyOn(Logger.prototype, 'warn')
      .mockImplementation((message: unknown) => void warnings.push(String(message)));
  });
  afterEach(() => jest.restoreAllMocks());

  const start = (ADMIN_API_KEY: string) =>
    new AdminKeyBootstrap(
      loadConfig({ ADMIN_API_KEY, NODE_ENV: 'development' }),
      apiKeys,
    ).onApplicationBootstrap();

  it('warns at start about the README’s placeholder, which it still records outside production', async () => {
    await start('change-me-to-a-long-secret');
    expect(apiKeys.bootstrapAdmin).toHaveBeenCalledWith('change-me-to-a-long-secret');
    expect(warnings).toEqual([
      expect.stringMatching(
        /^ADMIN_API_KEY is the placeholder from the README.*NODE_ENV=production/,
      ),
    ]);
  });

  it('warns about one character repeated, and says nothing of a secret of one’s own', async () => {
    await start('x'.repeat(32));
    expect(warnings).toEqual([expect.stringMatching(/^ADMIN_API_KEY repeats one character/)]);
    warnings = [];
    await start('q7Vd2kLx9PzR4mWc8TnY3bHs6FjE');
    expect(warnings).toEqual([]);
  });
});
