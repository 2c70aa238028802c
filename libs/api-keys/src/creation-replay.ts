import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * What a retried creation must present to see the secret the first one was answered with: the
 * `Idempotency-Key` (scoped to the caller's key id, as `commandId`) and the caller's own API key
 * secret. The caller's secret is what makes the sealed copy worthless to anyone reading the
 * table: the table keeps only its SHA-256, from which the wrapping key cannot be derived, so
 * keys stay "stored hashed" (SPEC §4) even while a retry can still be answered.
 */
export interface CreationReplayCredentials {
  /** `idempotency:<caller key id>:<Idempotency-Key>`. */
  commandId: string;
  /** The bearer secret of the key that sent the creation (and must send the retry). */
  callerSecret: string;
}

const VERSION = 1;
const SALT_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + SALT_BYTES + IV_BYTES + TAG_BYTES;
const INFO = 'accord api-key creation replay v1';

/**
 * The new key's secret under AES-256-GCM, with a key derived (HKDF-SHA256, a fresh salt per
 * key) from the credentials; the new key's id is bound as associated data, so a sealed copy
 * moved to another row does not open. Layout: version, salt, iv, tag, ciphertext.
 */
export function sealCreatedSecret(
  secret: string,
  newKeyId: string,
  credentials: CreationReplayCredentials,
): Buffer {
  const salt = randomBytes(SALT_BYTES);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', wrappingKey(credentials, salt), iv);
  cipher.setAAD(Buffer.from(newKeyId, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.of(VERSION), salt, iv, cipher.getAuthTag(), ciphertext]);
}

/** The secret sealed by `sealCreatedSecret`, or undefined when these credentials do not open it. */
export function openCreatedSecret(
  sealed: Buffer,
  newKeyId: string,
  credentials: CreationReplayCredentials,
): string | undefined {
  if (sealed.length <= HEADER_BYTES || sealed[0] !== VERSION) return undefined;
  const salt = sealed.subarray(1, 1 + SALT_BYTES);
  const iv = sealed.subarray(1 + SALT_BYTES, 1 + SALT_BYTES + IV_BYTES);
  const tag = sealed.subarray(1 + SALT_BYTES + IV_BYTES, HEADER_BYTES);
  try {
    const decipher = createDecipheriv('aes-256-gcm', wrappingKey(credentials, salt), iv);
    decipher.setAAD(Buffer.from(newKeyId, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([
      decipher.update(sealed.subarray(HEADER_BYTES)),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    // The tag did not verify: other credentials, or a damaged copy. Either way, nothing to show.
    return undefined;
  }
}

function wrappingKey(credentials: CreationReplayCredentials, salt: Buffer): Buffer {
  // Length-prefixed, so that no two different pairs make the same input.
  const secret = Buffer.from(credentials.callerSecret, 'utf8');
  const command = Buffer.from(credentials.commandId, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(secret.length);
  const inputKeyMaterial = Buffer.concat([length, secret, command]);
  return Buffer.from(hkdfSync('sha256', inputKeyMaterial, salt, INFO, 32));
}
