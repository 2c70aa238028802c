import type { DomainEvent } from './event';
import { liveEvents, retractedEventIds } from './retraction';

const fact = (eventId: string): DomainEvent => ({
  type: 'Fact',
  data: { effectiveAt: '2025-01-01T00:00:00.000Z', sources: [] },
  metadata: { eventId, actor: 'test' },
});
const retraction = (eventId: string, target: string): DomainEvent => ({
  type: 'EventRetracted',
  data: {
    eventId: target,
    reason: 'x',
    effectiveAt: '2025-01-01T00:00:00.000Z',
    sources: [],
  } as DomainEvent['data'],
  metadata: { eventId, actor: 'test' },
});

describe('retraction', () => {
  it('drops retracted facts and the retractions themselves', () => {
    const history = [fact('a'), fact('b'), retraction('r1', 'a')];
    expect(liveEvents(history).map((e) => e.metadata.eventId)).toEqual(['b']);
  });

  it('settles chains of retractions', () => {
    const history = [
      fact('a'),
      retraction('r1', 'a'),
      retraction('r2', 'r1'),
      retraction('r3', 'r2'),
    ];
    expect([...retractedEventIds(history)].sort()).toEqual(['a', 'r2']);
    expect(liveEvents(history)).toEqual([]);
    expect(liveEvents(history.slice(0, 3)).map((e) => e.metadata.eventId)).toEqual(['a']);
  });
});
