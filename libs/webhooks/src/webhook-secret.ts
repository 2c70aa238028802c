import { hash, randomBytes } from 'node:crypto';

const SECRET_PREFIX = 'whsec_';

/** A signing secret as Standard Webhooks writes it: `whsec_` + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key of a secret: the bytes of its base64 part after `whsec_`. */
export function secretKey(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
}

/**
 * The `webhook-id` of a message for one subscription: stable across retries, replays and a
 * second dispatch of the same message, and different per subscription.
 */
export function webhookIdFor(messageKey: string, subscriptionId: string): string {
  // The first 18 bytes of the SHA-256, in base64url: exactly its first 24 characters. The
  // one-shot `hash` is about five times faster than a Hash object, and a burst of alerts
  // computes one id per (alert, subscription).
  return `msg_${hash('sha256', `${messageKey}\u0000${subscriptionId}`, 'base64url').slice(0, 24)}`;
}
