import { evolveMeasure, initialMeasureState, type MeasureEvent } from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { toDomainEvent } from '@app/trade';
import { agreementIdsOf } from './suspension-messages';
import {
  extensionRetractionMessage,
  extensionRetractionOf,
  type ExtensionRetraction,
} from './extension-retraction';

const MEASURE = '0d6c1f0e-7b1a-4a53-9f0e-1c2d3e4f5a6b';
const SUSPENSION = 's-geneva';
const sources = [{ issuer: 'The White House', title: 'EO 14257', official: true }];
const E0 = '2026-11-10T05:01:00.000Z';
const E1 = '2027-11-10T05:01:00.000Z';
const E2 = '2028-11-10T05:01:00.000Z';

/** A measure stream as the event store hands it to the publisher. */
class Log {
  readonly events: RecordedEvent[] = [];

  add(type: string, payload: Record<string, unknown>, eventId = `e-${this.events.length + 1}`) {
    const version = this.events.length + 1;
    this.events.push({
      position: version,
      eventId,
      streamId: `measure-${MEASURE}`,
      version,
      type,
      schemaVersion: 1,
      payload: { sources, ...payload },
      metadata: { actor: 'editor' },
      recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, version)),
    });
    return eventId;
  }

  /** The measure tariff in force since 2025, with 24 points suspended until E0. */
  static suspended(): Log {
    const log = new Log();
    log.add('MeasureImplemented', {
      measureId: MEASURE,
      measure: {
        code: 'US-RECIPROCAL-CN',
        title: 'Reciprocal tariff on products of China',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        rate: { type: 'ad-valorem', percent: 34 },
        scope: { description: 'All products of China and of Macao', inclusions: ['MO'] },
        timeZone: 'America/New_York',
      },
      effectiveAt: '2025-04-09T04:01:00.000Z',
    });
    log.add('SuspensionScheduled', {
      suspensionId: SUSPENSION,
      startsAt: '2025-11-10T05:01:00.000Z',
      endsAt: E0,
      part: { percentPoints: 24 },
      agreement: 'a-geneva',
      reinstatesAutomatically: true,
      effectiveAt: '2025-11-04T00:00:00.000Z',
    });
    return log;
  }

  extend(previousEndsAt: string, endsAt: string, extra: Record<string, unknown> = {}): string {
    return this.add('SuspensionExtended', {
      suspensionId: SUSPENSION,
      previousEndsAt,
      endsAt,
      effectiveAt: '2026-01-01T00:00:00.000Z',
      ...extra,
    });
  }

  retract(eventId: string, reason = 'Misread the notice'): string {
    return this.add('EventRetracted', { eventId, reason, effectiveAt: '2026-02-01T00:00:00.000Z' });
  }

  /** What the publisher sees of the log's last event. */
  judgeLast(): ExtensionRetraction | null {
    let state = initialMeasureState();
    let before = state;
    for (const event of this.events) {
      before = state;
      state = evolveMeasure(state, toDomainEvent<MeasureEvent>(event));
    }
    return extensionRetractionOf(this.events.at(-1)!, this.events, before.measure, state.measure);
  }
}

const agreements = {
  end: { id: 'a-geneva', code: 'GENEVA-2025', title: 'Geneva joint statement' },
  suspension: { id: 'a-geneva', code: 'GENEVA-2025', title: 'Geneva joint statement' },
};

describe('a retraction of a suspension’s extension, as a suspension.extended message', () => {
  it('withdraws the extension: the end as it now stands, the withdrawn one before it', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1, { extendedBy: 'P1Y' });
    const retraction = log.retract(extension);

    const facts = log.judgeLast();
    expect(facts).toMatchObject({ effect: 'withdrawn', previousEndsAt: E1 });
    const message = extensionRetractionMessage(facts!, agreements);

    expect(message).toMatchObject({
      type: 'suspension.extended',
      messageKey: `event:${retraction}:suspension.extended`,
      occurredAt: log.events.at(-1)!.recordedAt,
      match: {
        parties: ['US', 'CN', 'MO'],
        measureKind: 'tariff',
        measureId: MEASURE,
        measureCode: 'US-RECIPROCAL-CN',
      },
    });
    expect(message.data).toEqual({
      measure: {
        id: MEASURE,
        code: 'US-RECIPROCAL-CN',
        title: 'Reciprocal tariff on products of China',
        kind: 'tariff',
        imposingParty: 'US',
        targetParties: ['CN'],
        parties: ['US', 'CN', 'MO'],
        rate: { type: 'ad-valorem', percent: 34 },
        timeZone: 'America/New_York',
      },
      suspension: {
        id: SUSPENSION,
        part: { percentPoints: 24 },
        startsAt: '2025-11-10T05:01:00.000Z',
        endsAt: E0,
        reinstatesAutomatically: true,
        agreement: agreements.suspension,
      },
      agreement: agreements.end,
      links: {
        measure: `/api/v1/measures/${MEASURE}`,
        events: `/api/v1/measures/${MEASURE}/events`,
        agreement: '/api/v1/agreements/a-geneva',
      },
      previousEndsAt: E1,
      extendedBy: null,
      eventId: retraction,
      retraction: {
        eventId: retraction,
        reason: 'Misread the notice',
        retractedEventId: extension,
        effect: 'withdrawn',
        extension: { eventId: extension, endsAt: E1, extendedBy: 'P1Y' },
      },
    });
  });

  it('brings the extension back when its retraction is retracted: the end moves forward again', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1, { extendedBy: 'P1Y' });
    const withdrawal = log.retract(extension);
    const revival = log.retract(withdrawal, 'The extension was right');

    const message = extensionRetractionMessage(log.judgeLast()!, agreements);

    expect(message.messageKey).toBe(`event:${revival}:suspension.extended`);
    expect(message.data).toMatchObject({
      suspension: { endsAt: E1 },
      previousEndsAt: E0,
      extendedBy: 'P1Y',
      eventId: revival,
      retraction: {
        retractedEventId: withdrawal,
        effect: 'reinstated',
        extension: { eventId: extension, endsAt: E1 },
      },
    });
  });

  it('withdraws it again when the retraction of its retraction is retracted', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1);
    log.retract(log.retract(log.retract(extension)));

    expect(log.judgeLast()).toMatchObject({ effect: 'withdrawn', previousEndsAt: E1 });
    expect(log.judgeLast()!.suspension.endsAt).toBe(E0);
  });

  it('tells of an extension a later one superseded, though the end stays where it is', () => {
    const log = Log.suspended();
    const first = log.extend(E0, E1);
    log.extend(E1, E2);
    log.retract(first);

    const message = extensionRetractionMessage(log.judgeLast()!, agreements);

    expect(message.data).toMatchObject({
      suspension: { endsAt: E2 },
      previousEndsAt: E2,
      retraction: { effect: 'withdrawn', extension: { eventId: first, endsAt: E1 } },
    });
  });

  it('names the agreement behind the end as it now stands', () => {
    const log = Log.suspended();
    log.extend(E0, E1, { agreement: 'a-kuala-lumpur' });
    const later = log.extend(E1, E2, { agreement: 'a-later' });
    log.retract(later);

    expect(agreementIdsOf(log.judgeLast()!.suspension)).toEqual({
      end: 'a-kuala-lumpur',
      suspension: 'a-geneva',
    });
  });

  it('tells of a lapsed suspension: the end they were given is withdrawn, the standing one past', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1);
    log.add('SuspensionLapsed', { suspensionId: SUSPENSION, effectiveAt: E1 });
    log.retract(extension);

    const facts = log.judgeLast();
    expect(facts).toMatchObject({ effect: 'withdrawn', previousEndsAt: E1 });
    expect(facts!.suspension).toMatchObject({ state: 'lapsed', endsAt: E0 });
  });

  it('says nothing of a lifted suspension: its end counts nowhere any more', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1);
    log.add('SuspensionLifted', {
      suspensionId: SUSPENSION,
      effectiveAt: '2026-03-01T00:00:00.000Z',
    });
    log.retract(extension);

    expect(log.judgeLast()).toBeNull();
  });

  it('says nothing when the suspension itself was retracted', () => {
    const log = Log.suspended();
    const extension = log.extend(E0, E1);
    log.retract(log.events[1].eventId);
    log.retract(extension);

    expect(log.judgeLast()).toBeNull();
  });

  it('says nothing of a retraction of another fact, nor of an extension itself', () => {
    const log = Log.suspended();
    log.extend(E0, E1);
    expect(log.judgeLast()).toBeNull();
    const lapse = log.add('SuspensionLapsed', { suspensionId: SUSPENSION, effectiveAt: E1 });
    log.retract(lapse);
    expect(log.judgeLast()).toBeNull();
  });

  it('reaches the subscribers the extension reached: the scope at the end that extension moved', () => {
    const log = Log.suspended();
    // Macao leaves the scope between the two ends.
    log.add('MeasureScopeAmended', {
      scope: { description: 'All products of China' },
      effectiveAt: '2027-01-01T05:00:00.000Z',
    });
    const extension = log.extend(E0, E1);
    log.retract(extension);

    const message = extensionRetractionMessage(log.judgeLast()!, agreements);

    expect(message.match.parties).toEqual(['US', 'CN', 'MO']);
    expect(message.data).toMatchObject({ measure: { parties: ['US', 'CN', 'MO'] } });
  });
});
