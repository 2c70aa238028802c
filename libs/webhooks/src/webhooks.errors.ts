export class WebhookSubscriptionNotFoundError extends Error {
  readonly code = 'webhook-subscription-not-found';
  constructor(readonly id: string) {
    super(`No webhook subscription with id ${id}`);
    this.name = 'WebhookSubscriptionNotFoundError';
  }
}

export class WebhookDeliveryNotFoundError extends Error {
  readonly code = 'webhook-delivery-not-found';
  constructor(readonly id: string) {
    super(`No delivery with id ${id} for this subscription`);
    this.name = 'WebhookDeliveryNotFoundError';
  }
}

/** A request that the state of the subscription or delivery does not allow (409). */
export class WebhookStateConflictError extends Error {
  constructor(
    readonly code:
      | 'webhook-subscription-disabled'
      | 'webhook-delivery-not-retryable'
      | 'idempotency-key-in-use'
      | 'idempotency-key-expired',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookStateConflictError';
  }
}

/**
 * A retried creation or rotation (same `Idempotency-Key`) whose secret a rotation has replaced
 * since: its answer, that secret, cannot be given again, and rotating again under a key already
 * spent would not be a retry. The client rotates with a new key if it still needs a secret (409).
 * It names the subscription: a client retrying a creation lost the answer that told it the id.
 */
export class SecretSupersededError extends Error {
  readonly code = 'idempotency-key-superseded';
  constructor(
    /** What the key's request did: made the subscription, or rotated its secret. */
    readonly request: 'creation' | 'rotation',
    readonly subscriptionId: string,
    /** The version the key's request left the subscription at. */
    readonly answeredVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      request === 'creation'
        ? `The subscription the request with this Idempotency-Key created (${subscriptionId}) ` +
            'has had its secret replaced by a rotation since; nothing was changed. Rotate with ' +
            'a new key to get a secret.'
        : `The secret the request with this Idempotency-Key made (version ${answeredVersion}) ` +
            `of subscription ${subscriptionId} has been replaced by a rotation since; nothing ` +
            'was changed. Rotate with a new key to get a secret.',
    );
    this.name = 'SecretSupersededError';
  }
}

/**
 * A retried creation (same `Idempotency-Key`) whose subscription was deleted since: making it
 * again would bring back what an admin removed, and its answer, the secret, is gone with it
 * (409). It names the subscription the key made.
 */
export class SubscriptionDeletedSinceError extends Error {
  readonly code = 'webhook-subscription-deleted';
  constructor(readonly subscriptionId: string) {
    super(
      `The subscription the request with this Idempotency-Key created (${subscriptionId}) has ` +
        'been deleted since; nothing was created. Create it again with a new key if you still ' +
        'want it.',
    );
    this.name = 'SubscriptionDeletedSinceError';
  }
}
