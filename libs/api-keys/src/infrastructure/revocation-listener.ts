import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { connectionSettings } from '@app/database';

/** Carries the id of each key revoked, once the revocation has committed. */
export const API_KEY_REVOKED_CHANNEL = 'accord_api_key_revoked';

export interface RevocationEvents {
  /** A key was revoked (by this process or another). */
  revoked(keyId: string): void;
  /** Listening (again): revocations from now on arrive. */
  listening(): void;
  /** Not listening any more: revocations may be missed until `listening`. */
  deaf(): void;
}

/**
 * Holds a LISTEN on `API_KEY_REVOKED_CHANNEL` (a pool connection cannot hold one): a key
 * revoked by any process reaches every process's cache at once. A lost connection is made again
 * after `retryMs`; in between, the owner is told it may miss revocations.
 */
export class RevocationListener {
  private readonly logger = new Logger('ApiKeys');
  /** The connection made last, listening or about to. */
  private current: Client | undefined;
  private listening = false;
  /** It was listening and lost the connection: say so when it is back. */
  private wasLost = false;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly events: RevocationEvents,
    private readonly retryMs = 1000,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    const client = this.current;
    this.current = undefined;
    this.listening = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.databaseUrl,
      application_name: 'accord-api-key-revocations',
      ...connectionSettings(),
    });
    this.current = client;
    client.on('notification', ({ payload }) => {
      if (payload) this.events.revoked(payload);
    });
    client.on('error', (error: Error) => this.lost(client, error));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      await client.end().catch(() => undefined);
      return;
    }
    if (this.current !== client) {
      // Stopped while connecting.
      await client.end().catch(() => undefined);
      return;
    }
    this.listening = true;
    if (this.wasLost) this.logger.log('The API key revocation listener is back');
    this.wasLost = false;
    this.events.listening();
  }

  private lost(client: Client, error?: Error): void {
    if (client !== this.current || this.stopped) return;
    this.current = undefined;
    if (this.listening) {
      this.wasLost = true;
      this.logger.warn(
        `Lost the API key revocation listener${error ? `: ${error.message}` : ''}; ` +
          'key lookups go to the database until it is back',
      );
    }
    this.listening = false;
    this.events.deaf();
    clearTimeout(this.retry);
    this.retry = setTimeout(() => void this.connect(), this.retryMs);
    this.retry.unref();
  }
}
