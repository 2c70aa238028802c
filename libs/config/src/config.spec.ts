import { ConfigError, loadConfig, weakAdminApiKey } from './config';
import { LEAD_TIME_RULE } from '@app/domain';

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

  it('says what a numeric setting takes, whatever is wrong with it', () => {
    for (const value of ['abc', '80.5', '0', '65536', 'Infinity']) {
      expect(() => loadConfig({ PORT: value })).toThrow(
        new ConfigError(['PORT: must be a port number, an integer from 1 to 65535']),
      );
    }
    expect(() =>
      loadConfig({
        WORKER_METRICS_PORT: 'none',
        SUBSCRIPTION_POLL_MS: '1s',
        WEBHOOK_TIMEOUT_MS: '5',
        WEBHOOK_MAX_RESPONSE_BYTES: '4k',
        ALERT_WORKER_CONCURRENCY: 'many',
      }),
    ).toThrow(
      new ConfigError([
        'SUBSCRIPTION_POLL_MS: must be a number of milliseconds, an integer from 10 to 60000',
        'ALERT_WORKER_CONCURRENCY: must be an integer from 1 to 1000',
        'WEBHOOK_TIMEOUT_MS: must be a number of milliseconds, an integer from 100 to 120000',
        'WEBHOOK_MAX_RESPONSE_BYTES: must be a number of bytes, an integer from 0 to 1048576',
        'WORKER_METRICS_PORT: must be a port number, an integer from 1 to 65535',
      ]),
    );
    expect(loadConfig({ PORT: '8080', WORKER_METRICS_PORT: '9464' })).toMatchObject({
      PORT: 8080,
      WORKER_METRICS_PORT: 9464,
    });
  });

  it('names lead times no alert can be scheduled at beside the other bad variables', () => {
    expect(() =>
      loadConfig({ ALERT_LEAD_TIMES: 'P30D,P20Y,-P1D,PT0S,P10Y', LOG_LEVEL: 'info' }),
    ).toThrow(
      new ConfigError([
        `ALERT_LEAD_TIMES: P20Y, -P1D must be durations ${LEAD_TIME_RULE}`,
        'LOG_LEVEL: Invalid option: expected one of "fatal"|"error"|"warn"|"log"|"debug"|"verbose"',
      ]),
    );
  });

  it('counts the ten-year cap as the calendar does, and lead times to the millisecond', () => {
    expect(() => loadConfig({ ALERT_LEAD_TIMES: 'P121M,P10Y,PT0.0001S' })).toThrow(
      new ConfigError([`ALERT_LEAD_TIMES: P121M, PT0.0001S must be durations ${LEAD_TIME_RULE}`]),
    );
  });

  it('wants DATABASE_URL to name a database, and REDIS_URL at most a database index', () => {
    expect(() =>
      loadConfig({
        DATABASE_URL: 'postgres://root@127.0.0.1:5432',
        REDIS_URL: 'redis://127.0.0.1:6379/queues',
      }),
    ).toThrow(
      new ConfigError([
        'DATABASE_URL: must name the database, as in postgres://user@host:5432/accord',
        'REDIS_URL: may name a database by its index only, as in redis://host:6379/0',
      ]),
    );
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379/2' }).REDIS_URL).toBe(
      'redis://127.0.0.1:6379/2',
    );
  });

  it('takes a hash-tagged REDIS_PREFIX for Redis Cluster, and no other braces', () => {
    expect(loadConfig({ REDIS_PREFIX: '{accord}' }).REDIS_PREFIX).toBe('{accord}');
    expect(loadConfig({ REDIS_PREFIX: 'prod:{accord}' }).REDIS_PREFIX).toBe('prod:{accord}');
    for (const prefix of ['{}', '{accord', 'accord}', '{a}{b}', '{a b}', 'a b']) {
      expect(() => loadConfig({ REDIS_PREFIX: prefix })).toThrow(/REDIS_PREFIX: may contain only/);
    }
  });

  it('parses lead times and flags', () => {
    const config = loadConfig({
      ALERT_LEAD_TIMES: 'P14D, PT1H',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    });
    expect(config.ALERT_LEAD_TIMES).toEqual(['P14D', 'PT1H']);
    expect(config.WEBHOOK_ALLOW_PRIVATE_NETWORKS).toBe(true);
  });

  it('takes PUBLIC_BASE_URL as an http(s) origin with an optional path, without a trailing slash', () => {
    expect(loadConfig({}).PUBLIC_BASE_URL).toBeUndefined();
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://accord.example.org/' }).PUBLIC_BASE_URL).toBe(
      'https://accord.example.org',
    );
    expect(loadConfig({ PUBLIC_BASE_URL: 'http://Host:8080/accord//' }).PUBLIC_BASE_URL).toBe(
      'http://host:8080/accord',
    );
    for (const value of ['accord.example.org', 'ftp://accord.example.org', 'https://']) {
      expect(() => loadConfig({ PUBLIC_BASE_URL: value })).toThrow(
        new ConfigError(['PUBLIC_BASE_URL: must be a URL starting with http:// or https://']),
      );
    }
    for (const value of [
      'https://a.example/?x=1',
      'https://a.example/#top',
      'https://u:p@a.example',
    ]) {
      expect(() => loadConfig({ PUBLIC_BASE_URL: value })).toThrow(
        /PUBLIC_BASE_URL: must be a scheme, host and optional path only/,
      );
    }
    // What the URL parser would drop or rewrite, or leave broken: refused, not taken as typed.
    for (const value of [
      'https://a.example/\tx',
      'https://a.example\\x',
      'https://a.example/50%',
    ]) {
      expect(() => loadConfig({ PUBLIC_BASE_URL: value })).toThrow(
        new ConfigError([
          'PUBLIC_BASE_URL: must not contain whitespace, backslashes or percent signs',
        ]),
      );
    }
  });

  it('refuses the README’s ADMIN_API_KEY and repeated characters in production only', () => {
    const weak = ['change-me-to-a-long-secret', 'a'.repeat(24), 'ab'.repeat(12), '1234'.repeat(6)];
    for (const ADMIN_API_KEY of weak) {
      expect(weakAdminApiKey(ADMIN_API_KEY)).toEqual(expect.any(String));
      expect(() => loadConfig({ ADMIN_API_KEY, NODE_ENV: 'production' })).toThrow(
        /^Invalid configuration:\n {2}- ADMIN_API_KEY: (is the placeholder from the README|repeats one character)/,
      );
      // The README's first command runs with the placeholder: elsewhere the api warns only.
      for (const NODE_ENV of [undefined, 'development', 'test']) {
        expect(loadConfig({ ADMIN_API_KEY, NODE_ENV }).ADMIN_API_KEY).toBe(ADMIN_API_KEY);
      }
    }
    const strong = 'q7Vd2kLx9PzR4mWc8TnY3bHs6FjE';
    expect(weakAdminApiKey(strong)).toBeUndefined();
    expect(weakAdminApiKey('abcde'.repeat(5))).toBeUndefined();
    expect(loadConfig({ ADMIN_API_KEY: strong, NODE_ENV: 'production' }).ADMIN_API_KEY).toBe(
      strong,
    );
  });
});
