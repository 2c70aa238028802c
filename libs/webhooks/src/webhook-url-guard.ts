import { promises as dns, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a webhook URL is refused; `code` is stable for the API's problem documents. */
export class WebhookUrlRefusedError extends Error {
  readonly code = 'webhook-url-refused';
  constructor(
    message: string,
    /** The address that was refused, when the refusal is about an address. */
    readonly address?: string,
  ) {
    super(message);
    this.name = 'WebhookUrlRefusedError';
  }
}

/** The longest URL a subscription takes, as typed and as stored (normalised). */
export const MAX_WEBHOOK_URL_LENGTH = 2000;

/**
 * What a new URL may not contain: C0 controls, DEL, C1 controls, any Unicode whitespace (the
 * line and paragraph separators and the no-break spaces included) and the backslash.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const UNFIT_URL_CHARACTER = /[\u0000-\u001f\u007f-\u009f\s\\]/u;

function describeCharacter(character: string): string {
  if (character === '\\') return 'a backslash';
  const code = `U+${character.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (character === ' ') return `a space (${code})`;
  const point = character.codePointAt(0)!;
  return point < 0x20 || (point >= 0x7f && point <= 0x9f)
    ? `a control character (${code})`
    : `whitespace (${code})`;
}

/** Resolves a host name to every address it has (the default asks the system, like connect would). */
export type AddressResolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: AddressResolver = (hostname) =>
  dns.lookup(hostname, { all: true, verbatim: true });

// Ranges ipaddr.js calls "unicast" that still must not be reached: IPv4-compatible IPv6
// (::a.b.c.d, deprecated but mapped onto IPv4 by some stacks) and local-use NAT64 (RFC 8215).
const EXTRA_REFUSED_V6 = [ipaddr.parseCIDR('::/96'), ipaddr.parseCIDR('64:ff9b:1::/48')] as const;

/**
 * Whether an address is on the public internet: ipaddr.js's `unicast` range, after unwrapping an
 * IPv4-mapped IPv6 address (`::ffff:127.0.0.1` is loopback). Everything it names otherwise —
 * loopback, private, link-local (169.254.169.254), CGNAT, multicast, unspecified, broadcast,
 * reserved and documentation ranges, unique-local fc00::/7, fe80::/10, NAT64, 6to4, Teredo — is not.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address);
  if (parsed.range() !== 'unicast') return false;
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (EXTRA_REFUSED_V6.some(([network, bits]) => v6.match(network, bits))) return false;
  }
  return true;
}

/** A URL's host without IPv6 brackets, and whether it is an address literal. */
function hostOf(url: URL): { host: string; literal: boolean } {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, literal: ipaddr.isValid(host) };
}

export interface WebhookUrlGuardOptions {
  /** `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: lifts the address check (development and tests). */
  allowPrivateNetworks: boolean;
  resolver?: AddressResolver;
}

/**
 * Keeps webhooks off internal networks (SSRF): http(s) only, every resolved address public,
 * and — through `lookup`, handed to the HTTP client's connector — the connection made to an
 * address checked by this very resolution, so a DNS answer that changes between the check and
 * the connect (rebinding) cannot slip through.
 */
export class WebhookUrlGuard {
  private readonly resolver: AddressResolver;

  constructor(private readonly options: WebhookUrlGuardOptions) {
    this.resolver = options.resolver ?? systemResolver;
  }

  /** Checks the syntax only: a URL fit to store (http or https, no credentials). */
  parse(raw: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new WebhookUrlRefusedError('The URL is not a valid absolute URL.');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new WebhookUrlRefusedError('The URL must use http or https.');
    if (url.username || url.password)
      throw new WebhookUrlRefusedError('The URL may not carry a user name or password.');
    if (!url.hostname) throw new WebhookUrlRefusedError('The URL names no host.');
    return url;
  }

  /**
   * Parses, resolves and checks a URL, as a subscription is created or changed, and answers it
   * parsed: the caller stores its `href`, the URL deliveries will call. A host that does not
   * resolve is refused too: a URL nothing can be sent to is a mistake to report now.
   * (Deliveries resolve through `lookup`, where a failed resolution is an error to retry.)
   * Stricter than `parse`, which URLs stored before these checks still pass to be delivered.
   */
  async check(raw: string): Promise<URL> {
    // A URL is stored and shown as it will be called (`url.href`, what the WHATWG parser makes
    // of it), and input the parser would silently rewrite into another URL is refused rather
    // than guessed at: control characters (CR/LF/TAB are dropped, others percent-encoded),
    // whitespace, and backslashes (read as `/` in http(s), but as a plain character by RFC 3986
    // parsers, so that `http://a\@b/` names another host for other tools).
    const unfit = UNFIT_URL_CHARACTER.exec(raw);
    if (unfit)
      throw new WebhookUrlRefusedError(
        `The URL may not contain ${describeCharacter(unfit[0])} (at position ${unfit.index + 1}): ` +
          'control characters, whitespace and backslashes are refused; percent-encode them.',
      );
    const url = this.parse(raw);
    if (url.href.length > MAX_WEBHOOK_URL_LENGTH)
      throw new WebhookUrlRefusedError(
        `The URL is longer than ${MAX_WEBHOOK_URL_LENGTH} characters once normalised.`,
      );
    // Nothing can listen on port 0, and a fragment is never sent: either is a mistake to report
    // now. (Here, not in `parse`: URLs stored before this check are still delivered to.)
    if (url.port === '0') throw new WebhookUrlRefusedError('The URL names port 0.');
    if (raw.includes('#'))
      throw new WebhookUrlRefusedError(
        'The URL may not have a fragment (#…): it is never sent to the receiver.',
      );
    const { host, literal } = hostOf(url);
    if (literal) {
      this.checkAddress(host);
      return url;
    }
    try {
      await this.resolve(host);
    } catch (error) {
      if (error instanceof WebhookUrlRefusedError) throw error;
      const code = (error as { code?: string }).code;
      throw new WebhookUrlRefusedError(
        `The host ${host} could not be resolved${code ? ` (${code})` : ''}: check the URL.`,
      );
    }
    return url;
  }

  /** Checks a host that is an address literal (the lookup never sees those); leaves names be. */
  checkLiteralHost(url: URL): void {
    const { host, literal } = hostOf(url);
    if (literal) this.checkAddress(host);
  }

  /** Every address of a host name, all of them checked; refuses the host if any is not public. */
  async resolve(hostname: string): Promise<LookupAddress[]> {
    let addresses: LookupAddress[];
    try {
      addresses = await this.resolver(hostname);
    } catch (error) {
      const code = (error as { code?: string }).code;
      throw Object.assign(new Error(`Could not resolve ${hostname}${code ? ` (${code})` : ''}`), {
        code: code ?? 'ENOTFOUND',
      });
    }
    if (addresses.length === 0) throw new Error(`${hostname} has no address`);
    for (const { address } of addresses) this.checkAddress(address, hostname);
    return addresses;
  }

  /** Throws WebhookUrlRefusedError unless the address is public (or private networks are allowed). */
  checkAddress(address: string, hostname?: string): void {
    if (this.options.allowPrivateNetworks || isPublicAddress(address)) return;
    throw new WebhookUrlRefusedError(
      `${hostname ? `${hostname} resolves to ${address}, which` : `${address}`} is not a public ` +
        'internet address (loopback, private, link-local and other internal ranges are refused).',
      address,
    );
  }

  /**
   * A `lookup` for `net.connect`/`tls.connect`: resolves through the guard, so the socket connects
   * only to an address that has just passed the check.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname).then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family ? addresses.filter((entry) => entry.family === family) : addresses;
        if (usable.length === 0) {
          callback(
            Object.assign(new Error(`${hostname} has no IPv${family} address`), {
              code: 'ENOTFOUND',
            }),
            '',
            0,
          );
        } else if (options.all) {
          (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, usable);
        } else {
          callback(null, usable[0].address, usable[0].family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
