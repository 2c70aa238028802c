import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Decider, DomainEvent, Source } from '@app/domain';
import {
  CommandIdReusedError,
  EventStore,
  WrongExpectedVersionError,
  type AppendOptions,
} from '@app/event-store';
import { aggregateIdOf } from '../trade.streams';
import { loadAggregate } from './load-aggregate';
import type { WriteOptions, WriteResult } from './write-options';

/**
 * Conflicts retried on the client's behalf: always without a precondition, and under `If-Match`
 * when the version another write reached first is one the client listed.
 */
const MAX_ATTEMPTS = 10;

export interface WriteRequest<Command, Event extends DomainEvent, State> {
  decider: Decider<Command, Event, State>;
  streamId: string;
  aggregateId: string;
  /** Builds the command once the current state is known (e.g. to resolve references). */
  command: (state: State) => Command | Promise<Command>;
  options: WriteOptions;
  /**
   * The aggregate is created by this command under an id the server generated: a retry carries
   * a new id, so its first result may name another stream and is still the answer.
   */
  createsWithGeneratedId?: boolean;
  beforeCommit?: (newEvents: Event[]) => AppendOptions['beforeCommit'];
}

/**
 * The one write path for every aggregate: load the stream, fold it, decide, append with the
 * version it was loaded at. A thin loop, not a framework: deciding stays in libs/domain.
 */
@Injectable()
export class AggregateWriter {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}

  async write<Command, Event extends DomainEvent, State>(
    request: WriteRequest<Command, Event, State>,
  ): Promise<WriteResult> {
    const { options } = request;
    if (options.commandId) {
      const first = await this.store.findCommand(options.commandId);
      if (first && first.streamId !== request.streamId && !request.createsWithGeneratedId) {
        throw new CommandIdReusedError(options.commandId, first.streamId, request.streamId);
      }
      if (first) return this.replayedResult(first.streamId, first.eventIds, options);
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(request);
      } catch (error) {
        const retry =
          error instanceof WrongExpectedVersionError &&
          accepts(options.expectedVersion, error.actual) &&
          attempt < MAX_ATTEMPTS;
        if (retry) continue;
        const meanwhile = await this.committedMeanwhile(request);
        if (meanwhile) return meanwhile;
        throw error;
      }
    }
  }

  /**
   * The same command may have committed after this one looked for it: before it loaded the
   * stream (two imports of one file at once: this decide refused what the other did), or with
   * an id it generated for itself (a creation: this append found the command id taken). The
   * other's result, not this failure, is the answer.
   */
  private async committedMeanwhile<Command, Event extends DomainEvent, State>(
    request: WriteRequest<Command, Event, State>,
  ): Promise<WriteResult | undefined> {
    const { options } = request;
    if (!options.commandId) return undefined;
    const first = await this.store.findCommand(options.commandId);
    if (!first || (first.streamId !== request.streamId && !request.createsWithGeneratedId))
      return undefined;
    return this.replayedResult(first.streamId, first.eventIds, options);
  }

  /** Folds a stream into its aggregate state, as the decider sees it. */
  load<Event extends DomainEvent, State>(
    decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
    streamId: string,
  ): Promise<{ state: State; version: number }> {
    return loadAggregate(this.store, decider, streamId);
  }

  /** Whether anything is recorded in the stream: an index read, no fold. */
  async streamExists(streamId: string): Promise<boolean> {
    return (await this.store.streamVersion(streamId)) > 0;
  }

  private async attempt<Command, Event extends DomainEvent, State>(
    request: WriteRequest<Command, Event, State>,
  ): Promise<WriteResult> {
    const { decider, options, streamId } = request;
    // A stream named by an id generated for this command is empty: no need to read it.
    const { state, version } = request.createsWithGeneratedId
      ? { state: decider.initialState(), version: 0 }
      : await this.load(decider, streamId);
    const expected = options.expectedVersion;
    if (expected !== undefined && !accepts(expected, version)) {
      const named = typeof expected === 'number' ? expected : Math.max(-1, ...expected);
      throw new WrongExpectedVersionError(streamId, named, version);
    }
    const command = await request.command(state);
    const events = decider.decide(command, state, {
      now: options.now ?? new Date(),
      newId: randomUUID,
      actor: options.actor,
    });
    if (events.length === 0) {
      return { id: request.aggregateId, version, position: 0, eventIds: [], replayed: false };
    }
    const result = await this.store.append(
      streamId,
      events.map((event) => toNewEvent(event, options)),
      {
        expectedVersion: version === 0 ? 'no-stream' : version,
        commandId: options.commandId,
        beforeCommit: request.beforeCommit?.(events),
      },
    );
    if (result.duplicate) return this.replayedResult(result.streamId, result.eventIds, options);
    return {
      id: request.aggregateId,
      version: result.toVersion,
      position: result.positions[result.positions.length - 1],
      eventIds: result.eventIds,
      ...createdIds(
        events.map((event) => event.data as unknown as Record<string, unknown>),
        events,
      ),
      replayed: false,
    };
  }

  /** The response a retried command gets: rebuilt from the events its first run wrote. */
  private async replayedResult(
    streamId: string,
    eventIds: string[],
    options: WriteOptions,
  ): Promise<WriteResult> {
    const wanted = new Set(eventIds);
    const events = (await this.store.readStream(streamId)).filter((event) =>
      wanted.has(event.eventId),
    );
    const last = events[events.length - 1];
    const firstFingerprint = events[0]?.metadata.requestFingerprint;
    if (
      options.commandId &&
      options.requestFingerprint &&
      firstFingerprint !== undefined &&
      firstFingerprint !== options.requestFingerprint
    ) {
      throw new CommandIdReusedError(options.commandId, streamId, streamId);
    }
    return {
      id: aggregateIdOf(streamId),
      version: last.version,
      position: last.position,
      eventIds,
      ...createdIds(
        events.map((event) => event.payload),
        events,
      ),
      replayed: true,
    };
  }
}

const CREATED_BY: Record<string, keyof WriteResult> = {
  SuspensionScheduled: 'suspensionId',
  ExclusionGranted: 'exclusionId',
  CommitmentRecorded: 'commitmentId',
  PartyClaimRecorded: 'claimId',
};

function createdIds(
  payloads: Record<string, unknown>[],
  events: { type: string }[],
): Partial<Pick<WriteResult, 'suspensionId' | 'exclusionId' | 'commitmentId' | 'claimId'>> {
  const ids: Record<string, string> = {};
  events.forEach((event, index) => {
    const field = CREATED_BY[event.type];
    const value = field && payloads[index][field];
    if (typeof value === 'string') ids[field] = value;
  });
  return ids;
}

function toNewEvent(event: DomainEvent, options: WriteOptions) {
  const sources: Source[] | undefined = event.data.sources;
  return {
    eventId: event.metadata.eventId,
    type: event.type,
    payload: event.data as unknown as Record<string, unknown>,
    metadata: {
      actor: event.metadata.actor,
      correlationId: options.correlationId,
      causationId: options.causationId,
      requestFingerprint: options.requestFingerprint,
      sources,
    },
  };
}

/** Whether a write under this `If-Match` may go on top of `version` (no precondition: any). */
function accepts(expected: WriteOptions['expectedVersion'], version: number): boolean {
  if (expected === undefined) return true;
  return typeof expected === 'number' ? expected === version : expected.includes(version);
}
