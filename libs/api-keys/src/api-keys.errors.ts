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
