import { createHash, randomBytes } from 'node:crypto';

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
  const digest = createHash('sha256').update(`${messageKey}\u0000${subscriptionId}`).digest();
  return `msg_${digest.subarray(0, 18).toString('base64url')}`;
}
