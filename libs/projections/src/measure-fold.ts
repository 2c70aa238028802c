import { Inject, Injectable } from '@nestjs/common';
import { evolveMeasure, type Measure, type MeasureEvent, type MeasureState } from '@app/domain';
import { EventStore, type RecordedEvent } from '@app/event-store';
import { measureStreamId, toDomainEvent } from '@app/trade';

/** What a measure projection keeps of a stream: the folded measure, not the event history. */
export interface StoredMeasure {
  measure: Measure | null;
  version: number;
}

export interface FoldedMeasure extends StoredMeasure {
  /** Position of the last event applied by this fold. */
  lastPosition: number;
}

/**
 * Folds a measure stream's new events onto what a projection stored of it. Rows keep only the
 * measure: the history would make every row several times larger, and only a retraction needs it
 * (evolve replays the facts that still stand). So when a batch brings a retraction, the events
 * already folded are read back from the store, up to the stored version.
 */
@Injectable()
export class MeasureFold {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** The stream's measure after `events`; undefined when every one was applied already. */
  async apply(
    measureId: string,
    stored: StoredMeasure | undefined,
    events: readonly RecordedEvent[],
  ): Promise<FoldedMeasure | undefined> {
    const version = stored?.version ?? 0;
    const fresh = events.filter((event) => event.version > version);
    if (!fresh.length) return undefined;
    let state: MeasureState = { history: [], measure: stored?.measure ?? null };
    if (version > 0 && fresh.some((event) => event.type === 'EventRetracted')) {
      const folded = await this.store.readStream(measureStreamId(measureId), {
        toVersion: version,
      });
      state = {
        history: folded.map((event) => toDomainEvent<MeasureEvent>(event)),
        measure: state.measure,
      };
    }
    for (const event of fresh) state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
    const last = fresh[fresh.length - 1];
    return { measure: state.measure, version: last.version, lastPosition: last.position };
  }
}
