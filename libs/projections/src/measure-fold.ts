import { Inject, Injectable } from '@nestjs/common';
import {
  evolveMeasure,
  replayMeasure,
  type Measure,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
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

/** One event of a fold, with the measure right after it. */
export interface FoldStep {
  event: RecordedEvent;
  measure: Measure | null;
}

export interface MeasureSteps {
  /** The measure at the version the fold started from. */
  before: Measure | null;
  /** The new events, in version order, each with the measure it left. */
  steps: FoldStep[];
  /**
   * The stream's events up to the version the fold started from, when they had to be read back
   * (the caller kept no measure, or a retraction needed the history); otherwise undefined.
   */
  readBack?: RecordedEvent[];
}

/**
 * Folds a measure stream's new events onto what a projection stored of it. Rows keep only the
 * measure: the history would make every row several times larger, and only a retraction needs it
 * (evolve replays the facts that still stand). So when a batch brings a retraction, the events
 * already folded are read back from the store, up to the stored version. A projection that keeps
 * no measure at all has the stream read back whenever it resumes one.
 *
 * The measure after an event depends only on the stream up to that event, so each fold step is
 * remembered against the event object: projections rebuilt together are handed the very same
 * objects (one read of the log serves them all), and each measure event is then folded once
 * instead of once per projection. The map is weak, so the steps go with the batch.
 */
@Injectable()
export class MeasureFold {
  private readonly folded = new WeakMap<RecordedEvent, Measure | null>();

  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  /** The stream's measure after `events`; undefined when every one was applied already. */
  async apply(
    measureId: string,
    stored: StoredMeasure | undefined,
    events: readonly RecordedEvent[],
  ): Promise<FoldedMeasure | undefined> {
    const version = stored?.version ?? 0;
    const fresh = newEvents(events, version);
    if (!fresh.length) return undefined;
    const { steps } = await this.steps(
      measureId,
      { version, measure: stored?.measure ?? null },
      fresh,
    );
    const last = steps[steps.length - 1];
    return {
      measure: last.measure,
      version: last.event.version,
      lastPosition: last.event.position,
    };
  }

  /**
   * `fresh` (events after `from.version`, in version order, as `newEvents` gives them) folded
   * one by one onto the stream as it stood at `from.version`. `from.measure` is the measure
   * there if the caller kept it; undefined reads the stream back to find it.
   */
  async steps(
    measureId: string,
    from: { version: number; measure?: Measure | null },
    fresh: readonly RecordedEvent[],
  ): Promise<MeasureSteps> {
    // A retraction folded here replays the history up to it: the stream's earlier events and
    // the new ones before it. Steps folded already need no history.
    const retracts =
      fresh.some((event) => event.type === 'EventRetracted') &&
      !fresh.every((event) => this.folded.has(event));
    const readBack =
      from.version > 0 && (from.measure === undefined || retracts)
        ? await this.store.readStream(measureStreamId(measureId), { toVersion: from.version })
        : undefined;
    const earlier = readBack?.map((event) => toDomainEvent<MeasureEvent>(event));
    let before: Measure | null = null;
    if (from.measure !== undefined) before = from.measure;
    else if (earlier) before = replayMeasure(earlier);
    const history = retracts ? (earlier ?? []) : undefined;

    const steps: FoldStep[] = [];
    let state: MeasureState = { history: history ?? [], measure: before };
    for (const event of fresh) {
      let measure: Measure | null;
      if (this.folded.has(event)) {
        measure = this.folded.get(event) as Measure | null;
        state = {
          history: history ? [...state.history, toDomainEvent<MeasureEvent>(event)] : [],
          measure,
        };
      } else {
        const next = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
        measure = next.measure;
        // With no retraction to fold the history is not needed: dropping it keeps evolve from
        // copying a growing array at every step.
        state = history ? next : { history: [], measure };
        this.folded.set(event, measure);
      }
      steps.push({ event, measure });
    }
    return { before, steps, readBack };
  }
}

/**
 * The events of one stream after `version`, in version order and each once: a replayed batch
 * may repeat events or bring ones already applied.
 */
export function newEvents(events: readonly RecordedEvent[], version: number): RecordedEvent[] {
  const fresh: RecordedEvent[] = [];
  let last = version;
  for (const event of events) {
    if (event.version > last) {
      fresh.push(event);
      last = event.version;
    }
  }
  return fresh;
}
