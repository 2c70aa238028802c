import {
  partiesCoveredOn,
  initialMeasureState,
  evolveMeasure,
  measureStatusAt,
  replayAgreement,
  type AgreementConcludedData,
  type AgreementEvent,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import type { EventStore, RecordedEvent, SubscriptionHandler } from '@app/event-store';
import { agreementStreamId, aggregateIdOf, toDomainEvent } from '@app/trade';
import type { EntityManager } from 'typeorm';
import type { WebhookDispatcher } from '../webhook-dispatcher';
import {
  extensionRetractionMessage,
  extensionRetractionOf,
  type ExtensionRetraction,
} from './extension-retraction';
import { retractedFactOf } from './retracted-fact';
import { agreementIdsOf, type AgreementRef } from './suspension-messages';

const API = '/api/v1';

/**
 * Turns committed domain events into `measure.status-changed` and `agreement.recorded`
 * webhooks, and a retraction that withdraws or brings back a suspension's extension into a
 * `suspension.extended` saying where the end now stands. It is a subscription handler: the
 * deliveries are written in the same transaction that moves its checkpoint, so an event is
 * dispatched once it is committed and never lost; the event id makes the message key, so a
 * replayed batch dispatches nothing twice. (`suspension.expiring`, `.lapsed` and the
 * extensions' own `.extended` come from the alert schedule.)
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
      await this.measureEvents(manager, streamId, batch);
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

  /** Folds the stream up to each new event, and tells what that event changed. */
  private async measureEvents(
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
      await this.statusChanged(manager, recorded, history, before, state);
      const retraction = extensionRetractionOf(recorded, history, before.measure, state.measure);
      if (retraction) await this.extensionRetracted(manager, retraction);
    }
  }

  /** Dispatches `measure.status-changed` when the status at the event's effective instant moved. */
  private async statusChanged(
    manager: EntityManager,
    recorded: RecordedEvent,
    history: RecordedEvent[],
    before: MeasureState,
    state: MeasureState,
  ): Promise<void> {
    // Suspensions ending together lapse in one event each, and each lapse sees the same change
    // across that instant: it was told with the first.
    if (recorded.type === 'SuspensionLapsed' && lapsedEarlierAtOnce(recorded, history)) return;
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
    if (!change?.current) return;
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

  /** Dispatches `suspension.extended` for a retraction that withdrew or brought back an extension. */
  private async extensionRetracted(
    manager: EntityManager,
    retraction: ExtensionRetraction,
  ): Promise<void> {
    const ids = agreementIdsOf(retraction.suspension);
    const found = await this.agreementRefs([ids.end, ids.suspension]);
    const refOf = (id: string | undefined) => (id && found.get(id)) || null;
    await this.dispatcher.dispatch(
      manager,
      extensionRetractionMessage(retraction, {
        end: refOf(ids.end),
        suspension: refOf(ids.suspension),
      }),
    );
  }

  /**
   * The agreements a message names, read from their streams: the agreement read model is
   * another subscription's and may not have caught up with this one. An id with no stream is
   * named without code or title.
   */
  private async agreementRefs(
    ids: readonly (string | undefined)[],
  ): Promise<Map<string, AgreementRef>> {
    const refs = new Map<string, AgreementRef>();
    for (const id of new Set(ids)) {
      if (!id) continue;
      const events = await this.store.readStream(agreementStreamId(id));
      const agreement = replayAgreement(events.map((e) => toDomainEvent<AgreementEvent>(e)));
      refs.set(id, { id, code: agreement?.code ?? null, title: agreement?.title ?? null });
    }
    return refs;
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
  const at = retractedFactOf(recorded, history)?.payload.effectiveAt as string | undefined;
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
