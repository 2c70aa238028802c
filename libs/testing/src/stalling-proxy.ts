import net from 'node:net';

interface Pair {
  client: net.Socket;
  server?: net.Socket;
  stalled: boolean;
}

/**
 * A TCP proxy in front of PostgreSQL that can cut the path without a word, as a network
 * partition or a failover behind one address does: `stall()` stops carrying bytes on every
 * connection, both ways, and leaves new ones unanswered, while both ends stay open; `heal()`
 * lets new connections through again (stalled ones stay dead). A client that gives up on a
 * stalled connection closes it, and the proxy then closes the server's side: what the server's
 * own keepalives do in a real partition, within their probes.
 */
export class StallingProxy {
  private readonly pairs = new Set<Pair>();
  private stalledNow = false;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(targetUrl: string): Promise<StallingProxy> {
    const url = new URL(targetUrl);
    const target = { host: url.hostname, port: Number(url.port || 5432) };
    const server = net.createServer();
    const proxy = new StallingProxy(server, target);
    server.on('connection', (client) => proxy.accept(client));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** `url` with its host and port replaced by the proxy's. */
  through(url: string): string {
    const proxied = new URL(url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String((this.server.address() as net.AddressInfo).port);
    return proxied.toString();
  }

  stall(): void {
    this.stalledNow = true;
    for (const pair of this.pairs) pair.stalled = true;
  }

  heal(): void {
    this.stalledNow = false;
  }

  async close(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.server?.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: net.Socket): void {
    const pair: Pair = { client, stalled: this.stalledNow };
    this.pairs.add(pair);
    client.on('error', () => undefined);
    const end = () => {
      this.pairs.delete(pair);
      client.destroy();
      pair.server?.destroy();
    };
    client.on('close', end);
    if (pair.stalled) return;
    const server = net.connect(this.target.port, this.target.host);
    pair.server = server;
    server.on('error', () => undefined);
    server.on('close', () => {
      // The server ended a stalled connection: nothing reaches the client, as in a partition.
      if (!pair.stalled) end();
    });
    client.on('data', (data) => {
      if (!pair.stalled) server.write(data);
    });
    server.on('data', (data) => {
      if (!pair.stalled) client.write(data);
    });
  }
}
