import { openCreatedSecret, sealCreatedSecret } from './creation-replay';

describe('the secret sealed for a retried creation', () => {
  const credentials = { commandId: 'idempotency:caller-id:retry-1', callerSecret: 'acc_caller' };
  const secret = 'acc_the-new-secret';
  const keyId = '0b8f2f2e-1d2c-4b8a-9a3e-5c6d7e8f9a0b';

  it('opens with the same Idempotency-Key, caller secret and key id, and with nothing less', () => {
    const sealed = sealCreatedSecret(secret, keyId, credentials);

    expect(sealed.toString('latin1')).not.toContain('the-new-secret');
    expect(openCreatedSecret(sealed, keyId, credentials)).toBe(secret);
    // What the table holds besides (the caller's id and the Idempotency-Key) is not enough.
    expect(openCreatedSecret(sealed, keyId, { ...credentials, callerSecret: '' })).toBeUndefined();
    expect(
      openCreatedSecret(sealed, keyId, { ...credentials, commandId: 'idempotency:caller-id:x' }),
    ).toBeUndefined();
    expect(
      openCreatedSecret(sealed, '1b8f2f2e-1d2c-4b8a-9a3e-5c6d7e8f9a0b', credentials),
    ).toBeUndefined();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(openCreatedSecret(tampered, keyId, credentials)).toBeUndefined();
  });

  it('is sealed afresh each time', () => {
    expect(sealCreatedSecret(secret, keyId, credentials)).not.toEqual(
      sealCreatedSecret(secret, keyId, credentials),
    );
  });
});
