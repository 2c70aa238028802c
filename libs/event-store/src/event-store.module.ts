import { Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import type { Pool } from 'pg';
import { EventStore } from './event-store';
import { UpcasterRegistry } from './upcaster-registry';

/** Provides the EventStore over the shared pool; libs add their upcasters to the registry. */
@Module({
  providers: [
    UpcasterRegistry,
    {
      provide: EventStore,
      inject: [PG_POOL, UpcasterRegistry],
      useFactory: (pool: Pool, upcasters: UpcasterRegistry) => new EventStore(pool, upcasters),
    },
  ],
  exports: [EventStore, UpcasterRegistry],
})
export class EventStoreModule implements OnModuleDestroy {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  async onModuleDestroy(): Promise<void> {
    await this.store.close();
  }
}
