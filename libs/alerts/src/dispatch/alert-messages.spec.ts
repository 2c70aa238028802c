import type { Measure } from '@app/domain';
import { extendedMessage } from '@app/webhooks';
import { expiringMessage, lapsedMessage } from './alert-messages';

/**
 * The parties an alert's subscriptions filter on are those of the scope in force at the end it
 * is about: a territory the scope takes in only after the end, or drops before it, has nothing
 * expiring (as `GET /expiries?targetParty=` answers).
 */
describe('alert messages: parties', () => {
  const measure = {
    id: 'm-1',
    code: 'US-FENTANYL',
    title: 'Fentanyl duty',
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    rateHistory: [],
    // HK from 2025-03-01 to 2026-06-01, MO from 2026-06-01.
    scopeHistory: [
      { value: { inclusions: [] } },
      { from: '2025-03-01T00:00:00Z', value: { inclusions: ['HK'] } },
      { from: '2026-06-01T00:00:00Z', value: { inclusions: ['MO'] } },
    ],
    scope: { inclusions: ['MO'] },
    timeZone: 'America/New_York',
    respondsTo: [],
    suspensions: [],
    exclusions: [],
    claims: [],
    sources: [],
  } as unknown as Measure;
  const agreements = { end: null, suspension: null };
  const alertEnding = (endAt: string) => ({
    id: 'a-1',
    suspensionId: 's-1',
    leadTime: 'P7D',
    fireAt: new Date(new Date(endAt).getTime() - 7 * 86_400_000),
    endAt: new Date(endAt),
    endVersion: 1,
  });

  it('matches the territories of the scope in force at the end, not of every scope', () => {
    const before = expiringMessage(measure, alertEnding('2026-01-10T05:01:00Z'), agreements);
    expect(before.match.parties.sort()).toEqual(['CN', 'HK', 'US']);
    expect(before.data).toMatchObject({
      measure: { parties: ['US', 'CN', 'HK'], timeZone: 'America/New_York' },
    });

    const after = lapsedMessage(measure, alertEnding('2026-11-10T05:01:00Z'), agreements);
    expect(after.match.parties.sort()).toEqual(['CN', 'MO', 'US']);
  });

  it('an extension concerns the scope in force when the suspension would have ended', () => {
    const message = extendedMessage(
      measure,
      {
        eventId: 'e-1',
        suspensionId: 's-1',
        previousEndsAt: '2026-01-10T05:01:00Z',
        endsAt: '2026-11-10T05:01:00Z',
        extendedBy: 'P10M',
        recordedAt: new Date('2026-01-05T00:00:00Z'),
        concernedEndsAt: '2026-01-10T05:01:00Z',
      },
      agreements,
    );
    expect(message.match.parties.sort()).toEqual(['CN', 'HK', 'US']);
    expect(message.data).toMatchObject({ suspension: { endsAt: '2026-11-10T05:01:00Z' } });
  });
});
