import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { ACCORD_CONFIG, type AccordConfig } from '@app/config';
import {
  EventStore,
  SubscriptionRunner,
  type SubscriptionHandler,
  type SubscriptionStatus,
} from '@app/event-store';
import { DataSource } from 'typeorm';

export const SUBSCRIPTION_HANDLERS = Symbol('SUBSCRIPTION_HANDLERS');

/** Starts one runner per registered handler when the worker boots and stops them on shutdown. */
@Injectable()
export class SubscriptionHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runners: SubscriptionRunner[];

  constructor(
    @Inject(SUBSCRIPTION_HANDLERS) handlers: SubscriptionHandler[],
    @Inject(EventStore) store: EventStore,
    @Inject(DataSource) dataSource: DataSource,
    @Inject(ACCORD_CONFIG) config: AccordConfig,
  ) {
    const names = handlers.map((handler) => handler.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) throw new Error(`Two subscription handlers are named ${duplicate}`);
    this.runners = handlers.map(
      (handler) =>
        new SubscriptionRunner(handler, store, dataSource, {
          databaseUrl: config.DATABASE_URL,
          pollIntervalMs: config.SUBSCRIPTION_POLL_MS,
        }),
    );
  }

  onApplicationBootstrap(): void {
    for (const runner of this.runners) runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  status(): SubscriptionStatus[] {
    return this.runners.map((runner) => runner.status());
  }
}
