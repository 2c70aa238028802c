import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { testRedisUrl } from '@app/testing';

/**
 * A TCP proxy in front of the tests' Redis that a test can cut, as if Redis had gone down
 * (connections reset, new ones refused), without touching the machine's shared redis-server.
 */
export class CuttableRedis {
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private port = 0;

  private constructor() {}

  /** `redis://127.0.0.1:<port>`, with the tests' Redis URL's database index, if any. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}${new URL(testRedisUrl()).pathname}`;
  }

  static async start(): Promise<CuttableRedis> {
    const proxy = new CuttableRedis();
    await proxy.restore();
    return proxy;
  }

  /** Resets every connection and refuses new ones until `restore`. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  async restore(): Promise<void> {
    if (this.server) return;
    this.server = await this.listen(this.port);
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await this.cut();
  }

  private listen(port: number): Promise<Server> {
    const server = createServer((client) => this.pipe(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });
  }

  private pipe(client: Socket): void {
    const target = new URL(testRedisUrl());
    const upstream = connect(Number(target.port || 6379), target.hostname);
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        this.sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
