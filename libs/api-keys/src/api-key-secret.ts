import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'acc_';

/** A new secret: `acc_` + 32 random bytes in base64url (256 bits, so no slow hash is needed). */
export function generateApiKeySecret(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/**
 * A key's calendar feed token, a different secret from the key: an HMAC of the key's id and a
 * random salt under the key's own secret. The table keeps the salt and the token's SHA-256 only,
 * so the token can be shown again to whoever presents the key (and to no one else), and a new
 * salt (a rotation) makes a new token and ends the old one.
 */
export function deriveFeedToken(secret: string, keyId: string, salt: Buffer): string {
  return createHmac('sha256', secret)
    .update(`accord-feed-token\0${keyId}\0`, 'utf8')
    .update(salt)
    .digest('base64url');
}

/** A new salt for `deriveFeedToken`: each one makes a different token. */
export function newFeedTokenSalt(): Buffer {
  return randomBytes(16);
}

/** What the table keeps of a feed token, and looks it up by: its SHA-256, as for key secrets. */
export function hashFeedToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
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
