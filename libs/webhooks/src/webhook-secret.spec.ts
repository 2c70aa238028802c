import { generateWebhookSecret, secretKey, webhookIdFor } from './webhook-secret';

describe('webhookIdFor', () => {
  // Stored deliveries keep the id they were dispatched with, and a second dispatch of the same
  // message must find it again: the derivation may never change. These values were computed
  // with the original SHA-256 Hash-object implementation.
  it.each([
    [
      'alert:6f1c2b1e-0000-4000-8000-000000000001:PT1H:3',
      '0b7e2c44-5d1a-4c1e-9e55-2f1f0a9d1c01',
      'msg_0k19nMBlRGOVz4IiVS73KVZn',
    ],
    [
      'measure.status-changed:42',
      '0b7e2c44-5d1a-4c1e-9e55-2f1f0a9d1c02',
      'msg_sf2WMxoFDochtkCFoltFC8q7',
    ],
  ])('derives the same id as it always has for %s', (messageKey, subscriptionId, expected) => {
    expect(webhookIdFor(messageKey, subscriptionId)).toBe(expected);
  });

  it('differs per subscription and per message', () => {
    const ids = new Set([
      webhookIdFor('m1', 'a'),
      webhookIdFor('m1', 'b'),
      webhookIdFor('m2', 'a'),
      // The separator keeps "m1" + "0a" apart from "m10" + "a".
      webhookIdFor('m10', 'a'),
      webhookIdFor('m1', '0a'),
    ]);
    expect(ids.size).toBe(5);
  });
});

describe('generateWebhookSecret', () => {
  it('is whsec_ and base64 of 32 random bytes, fresh each time', () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(secretKey(secret)).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });
});
