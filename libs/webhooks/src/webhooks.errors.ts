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
      'webhook-subscription-disabled' | 'webhook-delivery-not-retryable' | 'idempotency-key-in-use',
    message: string,
  ) {
    super(message);
    this.name = 'WebhookStateConflictError';
  }
}

/**
 * A retried rotation (same `Idempotency-Key`) whose secret another rotation has replaced since:
 * its answer, that secret, cannot be given again, and rotating again under a key already spent
 * would not be a retry. The client rotates with a new key if it still needs a secret (409).
 */
export class RotationSupersededError extends Error {
  readonly code = 'idempotency-key-superseded';
  constructor(
    /** The version the key's rotation left the subscription at. */
    readonly rotatedVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      `The rotation made with this Idempotency-Key (version ${rotatedVersion}) has been ` +
        'replaced by another rotation since; nothing was rotated. Rotate with a new key to get ' +
        'a secret.',
    );
    this.name = 'RotationSupersededError';
  }
}
