import { createHash } from 'node:crypto';
import { canonicalJson } from '@app/domain';

/**
 * What an `Idempotency-Key` is bound to: the method, the route (not the URL: `/measures/{id}`
 * and `/measures/{code}` are one resource, and a key reused on another resource is caught where
 * the key is looked up) and the body, as canonical JSON. A retry is the same request when it
 * sends the same JSON, whatever order a client's map or JSON library wrote its keys in.
 *
 * A body whose keys were already in sorted order at every depth gets the digest it got before
 * fingerprints were canonical (bar keys such as `"10"`, which JSON.stringify writes first and no
 * route takes), so what such requests stored before an upgrade still matches their retries.
 */
export function requestFingerprint(method: string, route: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method} ${route}\n${canonicalJson(body ?? null)}`)
    .digest('base64url');
}
