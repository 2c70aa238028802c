import type { LookupAddress } from 'node:dns';
import { WebhookReceiver } from '@app/testing';
import { WebhookHttpClient } from './webhook-http-client';
import { WebhookUrlGuard, WebhookUrlRefusedError, type AddressResolver } from './webhook-url-guard';

/** A resolver with a fixed table: host names the test owns, resolving where the test says. */
function tableResolver(table: Record<string, string[]>): AddressResolver {
  return (hostname) => {
    const addresses = table[hostname];
    if (!addresses)
      return Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }));
    return Promise.resolve(
      addresses.map((address): LookupAddress => ({
        address,
        family: address.includes(':') ? 6 : 4,
      })),
    );
  };
}

const INTERNAL = {
  'loopback.test': ['127.0.0.1'],
  'ten.test': ['10.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'v6-loopback.test': ['::1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mixed.test': ['93.184.215.14', '192.168.1.10'],
  'public.test': ['93.184.215.14'],
};

describe('SSRF protection, private networks not allowed', () => {
  const guard = new WebhookUrlGuard({
    allowPrivateNetworks: false,
    resolver: tableResolver(INTERNAL),
  });

  it.each([
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd00::1]/hook',
    'http://[fe80::1]/hook',
    'http://100.64.0.1/hook',
    'http://0.0.0.0/hook',
    'http://224.0.0.1/hook',
    'http://2130706433/hook',
    'http://0x7f.1/hook',
    'http://loopback.test/hook',
    'http://ten.test/hook',
    'http://metadata.test/hook',
    'http://v6-loopback.test/hook',
    'http://mapped.test/hook',
    'http://mixed.test/hook',
  ])('refuses %s', async (url) => {
    await expect(guard.check(url)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
  });

  it('refuses localhost as the system resolves it', async () => {
    const system = new WebhookUrlGuard({ allowPrivateNetworks: false });
    await expect(system.check('http://localhost:3000/hook')).rejects.toBeInstanceOf(
      WebhookUrlRefusedError,
    );
  });

  it.each([
    'ftp://public.test/x',
    'file:///etc/passwd',
    'http://user:pw@public.test/',
    'not a url',
  ])('refuses %s by its syntax', async (url) => {
    await expect(guard.check(url)).rejects.toBeInstanceOf(WebhookUrlRefusedError);
  });

  it('accepts a public address', async () => {
    await expect(guard.check('https://public.test/hook')).resolves.toBeInstanceOf(URL);
    await expect(guard.check('https://93.184.215.14/hook')).resolves.toBeInstanceOf(URL);
  });

  describe('at delivery', () => {
    let receiver: WebhookReceiver;
    let client: WebhookHttpClient;
    beforeAll(async () => {
      receiver = await WebhookReceiver.start();
      client = new WebhookHttpClient(guard, {
        connectTimeoutMs: 1000,
        timeoutMs: 2000,
        maxResponseBytes: 64,
      });
    });
    afterAll(async () => {
      await client.close();
      await receiver.close();
    });

    it('connects only to the checked address: a name resolving to loopback never reaches the listener there', async () => {
      for (const host of ['loopback.test', '127.0.0.1', '[::ffff:127.0.0.1]']) {
        const result = await client.post(`http://${host}:${receiver.port}/ssrf`, {}, '{}');
        expect(result).toMatchObject({ kind: 'error', refused: true });
      }
      expect(receiver.on('/ssrf')).toEqual([]);
    });

    it('does not follow a redirect to an internal address', async () => {
      // The first hop must be reachable, so this client allows loopback; the redirect target
      // would be refused anyway, and is never even requested.
      const open = new WebhookHttpClient(new WebhookUrlGuard({ allowPrivateNetworks: true }), {
        connectTimeoutMs: 1000,
        timeoutMs: 2000,
        maxResponseBytes: 64,
      });
      receiver.handle('/redirect', () => ({
        status: 302,
        headers: { location: 'http://169.254.169.254/latest/meta-data/' },
      }));
      receiver.handle('/redirect-local', () => ({
        status: 301,
        headers: { location: receiver.url('/internal') },
      }));
      try {
        expect(await open.post(receiver.url('/redirect'), {}, '{}')).toMatchObject({
          kind: 'response',
          statusCode: 302,
        });
        expect(await open.post(receiver.url('/redirect-local'), {}, '{}')).toMatchObject({
          kind: 'response',
          statusCode: 301,
        });
        expect(receiver.on('/internal')).toEqual([]);
      } finally {
        await open.close();
      }
    });
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', () => {
  it('lifts the address check, not the syntax check', async () => {
    const guard = new WebhookUrlGuard({ allowPrivateNetworks: true });
    await expect(guard.check('http://127.0.0.1:9/hook')).resolves.toBeInstanceOf(URL);
    await expect(guard.check('gopher://127.0.0.1/')).rejects.toBeInstanceOf(WebhookUrlRefusedError);
    // Nothing listens on port 0, and a fragment never reaches the receiver.
    await expect(guard.check('http://127.0.0.1:0/hook')).rejects.toThrow('port 0');
    await expect(guard.check('http://127.0.0.1:9/hook#part')).rejects.toThrow('fragment');
    await expect(guard.check('HTTP://127.0.0.1:9/hook')).resolves.toBeInstanceOf(URL);
  });
});
