import { Inject, Injectable } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { isRebuildable, type RebuildableProjection } from './rebuildable-projection';

/**
 * The projections the application provides, found among its providers: a new read model is
 * rebuildable as soon as it declares its `tables`, with nothing to register.
 */
@Injectable()
export class RebuildableProjections {
  constructor(@Inject(DiscoveryService) private readonly discovery: DiscoveryService) {}

  /** Every rebuildable projection, in name order. */
  all(): RebuildableProjection[] {
    const byName = new Map<string, RebuildableProjection>();
    for (const instance of this.instances()) {
      if (isRebuildable(instance)) byName.set(instance.name, instance);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Names of subscription handlers called `projection:…` that declare no tables. */
  undeclared(): string[] {
    const names = new Set<string>();
    for (const instance of this.instances()) {
      const candidate = instance as { name?: unknown; handle?: unknown } | null;
      if (
        typeof candidate?.name === 'string' &&
        candidate.name.startsWith('projection:') &&
        typeof candidate.handle === 'function' &&
        !isRebuildable(instance)
      ) {
        names.add(candidate.name);
      }
    }
    return [...names].sort();
  }

  private instances(): unknown[] {
    return this.discovery.getProviders().map((wrapper) => wrapper.instance as unknown);
  }
}
