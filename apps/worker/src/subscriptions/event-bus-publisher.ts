import { Inject, Injectable } from '@nestjs/common';
import { EventBus } from '@nestjs/cqrs';
import type { RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { CommittedEvent } from './committed-event';

/**
 * Feeds @nestjs/cqrs event handlers from the global log, never from AggregateRoot.commit():
 * an event reaches them only after its transaction committed. Delivery is at least once
 * (a crash between publish and checkpoint replays the batch), so handlers must be idempotent.
 */
@Injectable()
export class EventBusPublisher implements SubscriptionHandler {
  readonly name = 'cqrs-event-bus';

  constructor(@Inject(EventBus) private readonly eventBus: EventBus) {}

  handle(events: RecordedEvent[]): Promise<void> {
    this.eventBus.publishAll(events.map((event) => new CommittedEvent(event)));
    return Promise.resolve();
  }
}
