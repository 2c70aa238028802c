import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it. */
export interface ReceivedWebhook {
  /** `Date.now()` when the body had arrived. */
  at: number;
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface ReceiverAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Wait this long before answering (a slow endpoint). */
  delayMs?: number;
}

/** Decides the answer to the `n`-th request (0-based) on a path. */
export type ReceiverHandler = (request: ReceivedWebhook, n: number) => ReceiverAnswer;

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers as each path's
 * handler says (204 by default): the other end of the webhook tests.
 */
export class WebhookReceiver {
  readonly requests: ReceivedWebhook[] = [];
  private readonly handlers = new Map<string, ReceiverHandler>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (request, response) => {
      void receiver.read(request).then(async (received) => {
        const n = receiver.on(received.path).length;
        receiver.requests.push(received);
        const handler = receiver.handlers.get(received.path);
        const answer = handler ? handler(received, n) : { status: 204 };
        if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
        response.writeHead(answer.status, answer.headers ?? {});
        response.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port><path>`. */
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Sets how a path answers from now on. */
  handle(path: string, handler: ReceiverHandler): void {
    this.handlers.set(path, handler);
  }

  /** The requests received on a path, oldest first. */
  on(path: string): ReceivedWebhook[] {
    return this.requests.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async read(request: IncomingMessage): Promise<ReceivedWebhook> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers))
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    return {
      at: Date.now(),
      path: (request.url ?? '/').split('?')[0],
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    };
  }
}
