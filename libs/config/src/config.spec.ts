import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('fills every default on an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      DATABASE_URL: 'postgres://root@127.0.0.1:5432/accord',
      REDIS_URL: 'redis://127.0.0.1:6379',
      PORT: 3000,
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: false,
      ALERT_LEAD_TIMES: ['P90D', 'P30D', 'P7D', 'P1D', 'PT0S'],
      LOG_LEVEL: 'log',
    });
    expect(config.ADMIN_API_KEY).toBeUndefined();
  });

  it('treats an empty value as unset', () => {
    expect(loadConfig({ PORT: '' }).PORT).toBe(3000);
  });

  it('names every malformed variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({
        DATABASE_URL: 'mysql://x',
        PORT: 'eighty',
        ALERT_LEAD_TIMES: 'P1D,soon',
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'maybe',
        ADMIN_API_KEY: 'short',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(
      'DATABASE_URL: must be a URL starting with postgres:// or postgresql://',
    );
    expect(message).toContain('PORT:');
    expect(message).toContain('ALERT_LEAD_TIMES.1: must be an ISO 8601 duration');
    expect(message).toContain('WEBHOOK_ALLOW_PRIVATE_NETWORKS: must be true or false');
    expect(message).toContain('ADMIN_API_KEY: must be at least 24 characters');
  });

  it('parses lead times and flags', () => {
    const config = loadConfig({
      ALERT_LEAD_TIMES: 'P14D, PT1H',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    expect(config.ALERT_LEAD_TIMES).toEqual(['P14D', 'PT1H']);
    expect(config.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(true);
  });
});
