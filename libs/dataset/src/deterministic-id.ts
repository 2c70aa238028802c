import { createHash } from 'node:crypto';

// A fixed namespace for Accord datasets (RFC 9562 name-based ids).
const NAMESPACE = Buffer.from('5b1c2a9e7d3f4e61a8c03f0d9e2b7c41', 'hex');

/**
 * A UUID (version 5) derived from a name: importing a dataset again yields the same ids, so
 * refs resolve without lookups and a re-import finds every command already done.
 */
export function deterministicUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = (hash[6] & 0x0f) | 0x50;
  hash[8] = (hash[8] & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
