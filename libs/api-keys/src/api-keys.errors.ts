export class ApiKeyNotFoundError extends Error {
  readonly code = 'api-key-not-found';
  constructor(readonly id: string) {
    super(`No API key with id ${id}`);
    this.name = 'ApiKeyNotFoundError';
  }
}

/** Names are unique among active keys, and `bootstrap-admin` is reserved. */
export class ApiKeyNameTakenError extends Error {
  readonly code = 'api-key-name-taken';
  constructor(
    readonly keyName: string,
    why: 'in-use' | 'reserved' = 'in-use',
  ) {
    super(
      why === 'reserved'
        ? `The name "${keyName}" is reserved for the key that ADMIN_API_KEY sets; choose another`
        : `An active API key is already named "${keyName}"`,
    );
    this.name = 'ApiKeyNameTakenError';
  }
}

/** `If-Match` names no current version of the key (answered 412 `precondition-failed`). */
export class ApiKeyVersionMismatchError extends Error {
  readonly code = 'precondition-failed';
  constructor(
    readonly id: string,
    readonly currentVersion: number,
  ) {
    super(`If-Match does not name the current version ${currentVersion}.`);
    this.name = 'ApiKeyVersionMismatchError';
  }
}

/** The `Idempotency-Key` of a creation was sent before with another request. */
export class ApiKeyIdempotencyKeyReusedError extends Error {
  readonly code = 'idempotency-key-reused';
  constructor() {
    super('This Idempotency-Key was already used for a different request.');
    this.name = 'ApiKeyIdempotencyKeyReusedError';
  }
}

/**
 * Why a retried creation's secret is not shown: the window in which a retry may see it has
 * passed (`expired`), the key was revoked since (`revoked`), or the sealed copy does not open
 * with what this retry presents (`unreadable`: other credentials, or a damaged copy).
 */
export type ApiKeySecretUnavailableReason = 'expired' | 'revoked' | 'unreadable';

const SECRET_UNAVAILABLE: Record<ApiKeySecretUnavailableReason, (id: string) => string> = {
  expired: (id) =>
    `This Idempotency-Key created key ${id}; its secret is shown to a retry for a limited time only, which has passed. Revoke that key and create another if its secret was lost.`,
  revoked: (id) =>
    `This Idempotency-Key created key ${id}, which has been revoked since; its secret is not shown again. Create another key.`,
  unreadable: (id) =>
    `This Idempotency-Key created key ${id}; its secret cannot be shown to this request. Revoke that key and create another if its secret was lost.`,
};

/** A retried creation whose key exists, but whose secret cannot be shown again. */
export class ApiKeySecretUnavailableError extends Error {
  readonly code = 'api-key-secret-unavailable';
  constructor(
    readonly id: string,
    readonly reason: ApiKeySecretUnavailableReason,
  ) {
    super(SECRET_UNAVAILABLE[reason](id));
    this.name = 'ApiKeySecretUnavailableError';
  }
}
