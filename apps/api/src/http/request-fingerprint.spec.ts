import { createHash } from 'node:crypto';
import { requestFingerprint } from './request-fingerprint';

/** The same text a client sends, parsed as the api parses it. */
const parsed = (text: string): unknown => JSON.parse(text);

describe('requestFingerprint', () => {
  /** The digest before fingerprints were canonical: the body as JSON.stringify wrote it. */
  const legacyFingerprint = (method: string, route: string, body: unknown) =>
    createHash('sha256')
      .update(`${method} ${route}\n${JSON.stringify(body ?? null)}`)
      .digest('base64url');
  const route = '/api/v1/measures/:id/suspensions';

  it('is the same for the same body with its keys in another order, nested ones included', () => {
    const first = parsed(
      '{"startsAt":"2026-12-10T05:01:00Z","part":{"percentPoints":10},"sources":[{"official":true,"issuer":"R","title":"N"}]}',
    );
    const retry = parsed(
      '{"sources":[{"title":"N","issuer":"R","official":true}],"part":{"percentPoints":10},"startsAt":"2026-12-10T05:01:00Z"}',
    );
    expect(requestFingerprint('POST', route, retry)).toBe(requestFingerprint('POST', route, first));
  });

  it('tells apart another value, another route, another method and no body', () => {
    const body = parsed('{"part":{"percentPoints":10},"duration":"P90D"}');
    const fingerprint = requestFingerprint('POST', route, body);
    for (const other of [
      requestFingerprint('POST', route, parsed('{"duration":"P90D","part":{"percentPoints":11}}')),
      requestFingerprint(
        'POST',
        route,
        parsed('{"duration":"P90D","part":{"percentPoints":"10"}}'),
      ),
      requestFingerprint('POST', '/api/v1/measures/:id/exclusions', body),
      requestFingerprint('PATCH', route, body),
      requestFingerprint('POST', route, undefined),
    ])
      expect(other).not.toBe(fingerprint);
    // No body and a JSON null are one request, as they were.
    expect(requestFingerprint('POST', route, undefined)).toBe(
      requestFingerprint('POST', route, null),
    );
  });

  it('is the digest recorded before the upgrade for a body whose keys were already in order', () => {
    const sorted = parsed(
      '{"duration":"P90D","part":{"percentPoints":10},"sources":[{"issuer":"R","official":true,"title":"N"}],"startsAt":"2026-12-10T05:01:00Z"}',
    );
    expect(requestFingerprint('POST', route, sorted)).toBe(
      legacyFingerprint('POST', route, sorted),
    );
    expect(requestFingerprint('DELETE', route, undefined)).toBe(
      legacyFingerprint('DELETE', route, undefined),
    );
  });
});
