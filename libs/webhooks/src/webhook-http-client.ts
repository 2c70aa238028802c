import { Agent } from 'undici';
import { WebhookUrlRefusedError, type WebhookUrlGuard } from './webhook-url-guard';

export interface WebhookHttpClientOptions {
  connectTimeoutMs: number;
  /** The whole exchange: connect, send, response head and the part of the body that is read. */
  timeoutMs: number;
  maxResponseBytes: number;
  /** Connections per origin (one endpoint's attempts beyond this wait for a free one). */
  connectionsPerOrigin?: number;
}

/** What one POST came to: a response (whatever its status) or an error before one. */
export type WebhookHttpResult =
  | {
      kind: 'response';
      statusCode: number;
      headers: Record<string, string>;
      body: string;
      latencyMs: number;
    }
  | { kind: 'error'; error: string; refused: boolean; latencyMs: number };

/**
 * POSTs webhooks with undici: no redirects followed (undici follows none unless told to), a
 * connect and a total timeout, at most `maxResponseBytes` of the body read, and every
 * connection opened to an address the guard has just checked (its `lookup` is the connector's).
 */
export class WebhookHttpClient {
  private readonly agent: Agent;
  /** URLs already parsed and checked (a literal address's check depends on nothing else). */
  private readonly targets = new Map<string, { origin: string; path: string }>();

  constructor(
    private readonly guard: WebhookUrlGuard,
    private readonly options: WebhookHttpClientOptions,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.agent = new Agent({
      connect: { timeout: options.connectTimeoutMs, lookup: guard.lookup },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
      connections: options.connectionsPerOrigin ?? 16,
    });
  }

  async post(
    rawUrl: string,
    headers: Record<string, string>,
    body: string | Buffer,
  ): Promise<WebhookHttpResult> {
    const started = this.clock();
    const latency = () => Math.round(this.clock() - started);
    const deadline = new Deadline(this.options.timeoutMs);
    try {
      const target = this.target(rawUrl);
      const response = await this.agent.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers,
        body,
        signal: deadline,
      });
      const text = hasNoBody(response.statusCode, response.headers)
        ? await response.body.dump().then(() => '')
        : await readCapped(response.body, this.options.maxResponseBytes);
      return {
        kind: 'response',
        statusCode: response.statusCode,
        headers: flattenHeaders(response.headers),
        body: text,
        latencyMs: latency(),
      };
    } catch (error) {
      const refused = findRefusal(error);
      return {
        kind: 'error',
        error: refused ? refused.message : describeError(error),
        refused: refused !== undefined,
        latencyMs: latency(),
      };
    } finally {
      deadline.clear();
    }
  }

  /** Parses the URL and, a literal address never reaching the lookup, checks it here. */
  private target(rawUrl: string): { origin: string; path: string } {
    const known = this.targets.get(rawUrl);
    if (known) return known;
    const url = this.guard.parse(rawUrl);
    this.guard.checkLiteralHost(url);
    const target = { origin: url.origin, path: `${url.pathname}${url.search}` };
    if (this.targets.size >= TARGET_CACHE_SIZE) this.targets.clear();
    this.targets.set(rawUrl, target);
    return target;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

const TARGET_CACHE_SIZE = 10_000;

/**
 * The total timeout of one request, as the `signal` undici accepts: a plain timer and one
 * listener, where `AbortSignal.timeout` costs an EventTarget, a weak reference and a finalizer
 * per request (a visible share of a busy deliverer's time).
 */
class Deadline {
  aborted = false;
  reason: Error | undefined;
  private listener: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(ms: number) {
    this.timer = setTimeout(() => {
      this.aborted = true;
      this.reason = Object.assign(new Error('The operation was aborted due to timeout'), {
        name: 'TimeoutError',
      });
      this.listener?.();
    }, ms);
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
  }

  removeEventListener(): void {
    this.listener = undefined;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.listener = undefined;
  }
}

/** A response that carries no body whatever its headers say (RFC 9110), or says it has none. */
function hasNoBody(
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
): boolean {
  return statusCode === 204 || statusCode === 304 || headers['content-length'] === '0';
}

/** Reads at most `cap` bytes, then drops the rest of the body (and with it the connection). */
async function readCapped(
  body: AsyncIterable<Buffer> & { destroy(): unknown },
  cap: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    if (size < cap) chunks.push(chunk.subarray(0, cap - size));
    size += chunk.length;
    if (size >= cap) break;
  }
  body.destroy();
  // The receiver's bytes are untrusted text: invalid UTF-8 decodes to U+FFFD, and so must NUL,
  // which PostgreSQL's text cannot hold (one such body failed every outcome written with it).
  return Buffer.concat(chunks).toString('utf8').replaceAll('\0', '\uFFFD');
}

function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined)
      flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function findRefusal(error: unknown): WebhookUrlRefusedError | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof WebhookUrlRefusedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  if (error.name === 'TimeoutError' || error.name === 'AbortError') return 'Timed out';
  const cause = (error as { cause?: unknown }).cause;
  const causeText =
    cause instanceof Error && cause.message !== error.message ? `: ${cause.message}` : '';
  return `${code ? `${code} ` : ''}${error.message}${causeText}`.slice(0, 500);
}
