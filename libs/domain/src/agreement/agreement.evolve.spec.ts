import { foldEvents } from '../shared/event';
import { type GivenEvent, withMetadata } from '../testing/decider-spec';
import { mofcom, sources } from '../testing/fixtures';
import { agreementDecider } from './agreement.decide';
import type { AgreementEvent } from './agreement.events';
import { commitmentStatusAt } from './agreement.state';

const fold = (events: GivenEvent<AgreementEvent>[]) =>
  foldEvents(agreementDecider, withMetadata<AgreementEvent>(events));
const concluded: GivenEvent<AgreementEvent> = {
  type: 'AgreementConcluded',
  data: {
    agreementId: 'a-kl',
    title: 'Kuala Lumpur consensus',
    parties: ['US', 'CN'],
    effectiveAt: '2025-10-26T00:00:00.000Z',
    sources: [mofcom],
  },
};
const commitment: GivenEvent<AgreementEvent> = {
  type: 'CommitmentRecorded',
  data: {
    commitmentId: 'c1',
    obligor: 'US',
    kind: 'extend',
    text: 'Extend the 24% suspension one year',
    effectiveAt: '2025-10-26T00:00:00.000Z',
    sources: [mofcom],
  },
};
const fulfilled: GivenEvent<AgreementEvent> = {
  type: 'CommitmentStatusChanged',
  data: {
    commitmentId: 'c1',
    status: 'fulfilled',
    previousStatus: 'pending',
    effectiveAt: '2025-11-10T05:01:00.000Z',
    sources,
  },
  metadata: { eventId: 'e-fulfilled' },
};

describe('evolveAgreement', () => {
  it('describes the agreement, its commitments and reaffirmations', () => {
    const { agreement } = fold([
      concluded,
      commitment,
      fulfilled,
      {
        type: 'AgreementReaffirmed',
        data: { reaffirms: 'a-madrid', effectiveAt: '2025-10-26T00:00:00.000Z', sources },
      },
      {
        type: 'PartyClaimRecorded',
        data: {
          claimId: 'k',
          party: 'CN',
          statement: 's',
          effectiveAt: '2025-10-30T00:00:00.000Z',
          sources: [mofcom],
        },
      },
    ]);
    expect(agreement).toMatchObject({
      id: 'a-kl',
      concludedAt: '2025-10-26T00:00:00.000Z',
      parties: ['US', 'CN'],
      reaffirms: ['a-madrid'],
      claims: [expect.objectContaining({ claimId: 'k', party: 'CN' })],
      commitments: [expect.objectContaining({ id: 'c1', status: 'fulfilled', measures: [] })],
    });
    expect(JSON.parse(JSON.stringify(agreement))).toStrictEqual(agreement);
  });

  it('gives a commitment status on a date', () => {
    const commitmentOf = fold([concluded, commitment, fulfilled]).agreement!.commitments[0];
    expect(commitmentStatusAt(commitmentOf, '2025-11-01T00:00:00Z')).toBe('pending');
    expect(commitmentStatusAt(commitmentOf, '2025-11-10T05:01:00Z')).toBe('fulfilled');
  });

  it('ignores a retracted status change', () => {
    const { agreement } = fold([
      concluded,
      commitment,
      fulfilled,
      {
        type: 'EventRetracted',
        data: {
          eventId: 'e-fulfilled',
          reason: 'premature',
          effectiveAt: '2025-11-11T00:00:00.000Z',
          sources,
        },
      },
    ]);
    expect(agreement?.commitments[0]).toMatchObject({ status: 'pending', statusHistory: [] });
  });
});
