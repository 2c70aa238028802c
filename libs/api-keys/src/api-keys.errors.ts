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
  constructor(readonly keyName: string) {
    super(`An active API key is already named "${keyName}"`);
    this.name = 'ApiKeyNameTakenError';
  }
}
