import {
  partiesCoveredOn,
  initialMeasureState,
  evolveMeasure,
  measureStatusAt,
  type AgreementConcludedData,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import type { EventStore, RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import type { WebhookDispatcher } from '../webhook-dispatcher';

const API = '/api/v1';

/**
 * Turns committed domain events into `measure.status-changed` and `agreement.recorded`
 * webhooks. It is a subscription handler: the deliveries are written in the same transaction
 * that moves its checkpoint, so an event is dispatched once it is committed and never lost;
 * the event id is the message key, so a replayed batch dispatches nothing twice.
 * (`suspension.expiring`, `.lapsed` and `.extended` come from the alert schedule.)
 */
export class WebhookEventPublisher implements SubscriptionHandler {
  readonly name = 'webhook-events';

  constructor(
    private readonly store: EventStore,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  async handle(events: RecordedEvent[], manager: EntityManager): Promise<void> {
    const measureStreams = new Map<string, RecordedEvent[]>();
    for (const event of events) {
      if (event.streamId.startsWith('measure-')) {
        const list = measureStreams.get(event.streamId) ?? [];
        list.push(event);
        measureStreams.set(event.streamId, list);
      } else if (event.streamId.startsWith('agreement-') && event.type === 'AgreementConcluded') {
        await this.agreementRecorded(manager, event);
      }
    }
    for (const [streamId, batch] of measureStreams)
      await this.measureStatusChanges(manager, streamId, batch);
  }

  private async agreementRecorded(manager: EntityManager, event: RecordedEvent): Promise<void> {
    const data = event.payload as unknown as AgreementConcludedData;
    const id = aggregateIdOf(event.streamId);
    await this.dispatcher.dispatch(manager, {
      type: 'agreement.recorded',
      messageKey: `event:${event.eventId}`,
      occurredAt: event.recordedAt,
      data: {
        agreement: {
          id,
          code: data.code ?? null,
          title: data.title,
          parties: data.parties,
          venue: data.venue ?? null,
          summary: data.summary ?? null,
          concludedAt: data.effectiveAt,
        },
        links: { agreement: `${API}/agreements/${id}` },
      },
      match: { parties: data.parties },
    });
  }

  /** Folds the stream up to each new event and dispatches where the status at its effective instant moved. */
  private async measureStatusChanges(
    manager: EntityManager,
    streamId: string,
    batch: RecordedEvent[],
  ): Promise<void> {
    const last = batch[batch.length - 1];
    const history = await this.store.readStream(streamId, { toVersion: last.version });
    const wanted = new Set(batch.map((event) => event.eventId));
    let state: MeasureState = initialMeasureState();
    for (const recorded of history) {
      const before = state;
      state = evolveMeasure(state, toDomainEvent<MeasureEvent>(recorded));
      if (!wanted.has(recorded.eventId)) continue;
      // Suspensions ending together lapse in one event each, and each lapse sees the same change
      // across that instant: it was told with the first.
      if (recorded.type === 'SuspensionLapsed' && lapsedEarlierAtOnce(recorded, history)) continue;
      // A lapse records what time did: the end it records was known before, so the status at
      // its instant had already changed without it. Its change is the one across that instant.
      const statusesAt = (at: string | Date) => ({
        at,
        previous:
          recorded.type === 'SuspensionLapsed'
            ? measureStatusAt(state, new Date(new Date(at).getTime() - 1))
            : measureStatusAt(before, at),
        current: measureStatusAt(state, at),
      });
      const change = changeInstantsOf(recorded, history)
        .map(statusesAt)
        .find(({ previous, current }) => current && previous?.status !== current.status);
      if (!change?.current) continue;
      const { at: effectiveAt, previous, current } = change;
      const measure = state.measure!;
      // The scope in force on the change's instant (as the timeline answers a party): a
      // territory taken out of the scope earlier is not concerned by a later change.
      const parties = [
        ...new Set([measure.imposingParty, ...partiesCoveredOn(measure, effectiveAt)]),
      ];
      await this.dispatcher.dispatch(manager, {
        type: 'measure.status-changed',
        messageKey: `event:${recorded.eventId}`,
        occurredAt: recorded.recordedAt,
        data: {
          measure: {
            id: measure.id,
            code: measure.code ?? null,
            title: measure.title,
            kind: measure.kind,
            imposingParty: measure.imposingParty,
            targetParties: measure.targetParties,
            parties,
            timeZone: measure.timeZone,
          },
          previousStatus: previous?.status ?? null,
          status: current.status,
          asOf: new Date(effectiveAt).toISOString(),
          rateInForce: current.rateInForce,
          suspendedPart: current.suspendedPart,
          cause: { eventId: recorded.eventId, type: recorded.type },
          links: {
            measure: `${API}/measures/${measure.id}`,
            events: `${API}/measures/${measure.id}/events`,
          },
        },
        match: {
          parties,
          measureKind: measure.kind,
          measureId: measure.id,
          ...(measure.code ? { measureCode: measure.code } : {}),
        },
      });
    }
  }
}

/**
 * Where on the valid-time line an event may change the status, in the order they are looked
 * at (the first that shows a change is the one sent): its `effectiveAt`, else when it was
 * recorded. A retraction changes it now, or else where the fact it withdraws did — a
 * revocation dated ahead, withdrawn before that date, changes nothing now and everything then
 * — following a retraction of a retraction back to that fact.
 */
function changeInstantsOf(recorded: RecordedEvent, history: RecordedEvent[]): (string | Date)[] {
  const own = (recorded.payload.effectiveAt as string | undefined) ?? recorded.recordedAt;
  if (recorded.type !== 'EventRetracted') return [own];
  let withdrawn = history.find((event) => event.eventId === recorded.payload.eventId);
  for (let depth = 0; withdrawn?.type === 'EventRetracted' && depth < history.length; depth++) {
    const target = withdrawn.payload.eventId;
    withdrawn = history.find((event) => event.eventId === target);
  }
  const at = withdrawn?.payload.effectiveAt as string | undefined;
  return at ? [own, at] : [own];
}

/** Whether an earlier event of the stream recorded a lapse at the same instant as `lapse`. */
function lapsedEarlierAtOnce(lapse: RecordedEvent, history: RecordedEvent[]): boolean {
  return history.some(
    (event) =>
      event.version < lapse.version &&
      event.type === 'SuspensionLapsed' &&
      event.payload.effectiveAt === lapse.payload.effectiveAt,
  );
}
