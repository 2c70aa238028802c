import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'acc_';

/** A new secret: `acc_` + 32 random bytes in base64url (256 bits, so no slow hash is needed). */
export function generateApiKeySecret(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A random token for the per-key calendar feed URL; a different secret from the key. */
export function generateFeedToken(): string {
  return randomBytes(24).toString('base64url');
}

export function hashApiKeySecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/**
 * What lists show so that a person can tell keys apart: `acc_` and six characters of a
 * generated key (36 of its 256 bits). Only for generated keys: see `BOOTSTRAP_ADMIN_PREFIX`.
 */
export function displayPrefix(secret: string): string {
  return secret.slice(0, KEY_PREFIX.length + 6);
}

export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
