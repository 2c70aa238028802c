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
import { METRICS_REGISTRY } from '@app/metrics';
import { Gauge, type Registry } from 'prom-client';
import { DataSource } from 'typeorm';

export const SUBSCRIPTION_HANDLERS = Symbol('SUBSCRIPTION_HANDLERS');

/** The hosts running in this process (tests start several): the gauges read them all. */
const running = new Set<SubscriptionHost>();

/**
 * Starts one runner per registered handler when the worker boots and stops them on shutdown,
 * and shows each runner's state as metrics: a runner retries a failed batch until it succeeds,
 * so a projection stuck on an event shows as `accord_subscription_failing` 1 and a position
 * that no longer moves, rather than only as a repeated log line.
 */
@Injectable()
export class SubscriptionHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly runners: SubscriptionRunner[];

  constructor(
    @Inject(SUBSCRIPTION_HANDLERS) handlers: SubscriptionHandler[],
    @Inject(EventStore) store: EventStore,
    @Inject(DataSource) dataSource: DataSource,
    @Inject(ACCORD_CONFIG) config: AccordConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    registerSubscriptionGauges(registry);
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
    running.add(this);
    for (const runner of this.runners) runner.start();
  }

  async onApplicationShutdown(): Promise<void> {
    running.delete(this);
    await Promise.all(this.runners.map((runner) => runner.stop()));
  }

  status(): SubscriptionStatus[] {
    return this.runners.map((runner) => runner.status());
  }
}

/** The subscriptions' gauges, once per registry, filled from the running hosts when scraped. */
function registerSubscriptionGauges(registry: Registry): void {
  if (registry.getSingleMetric('accord_subscription_position')) return;
  const statuses = () => [...running].flatMap((host) => host.status());
  new Gauge({
    name: 'accord_subscription_position',
    help: 'The log position a subscription (projection, publisher) has processed up to, from the runner leading it in this process',
    labelNames: ['subscription'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of statuses())
        if (status.active) this.set({ subscription: status.name }, status.checkpoint);
    },
  });
  // Only the leader has a position: a replica standing by shows 0 here, so that a subscription
  // no process leads (a sum of 0 across replicas) can be told from a scrape that failed.
  new Gauge({
    name: 'accord_subscription_leading',
    help: 'Whether this process leads a subscription (1) or stands by while another replica does (0)',
    labelNames: ['subscription'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of statuses())
        this.set({ subscription: status.name }, status.active ? 1 : 0);
    },
  });
  new Gauge({
    name: 'accord_subscription_failing',
    help: 'Whether the last batch of a subscription failed (1) or not (0); a failed batch is retried until it succeeds',
    labelNames: ['subscription'],
    registers: [registry],
    collect() {
      this.reset();
      for (const status of statuses())
        this.set({ subscription: status.name }, status.lastError === null ? 0 : 1);
    },
  });
}
