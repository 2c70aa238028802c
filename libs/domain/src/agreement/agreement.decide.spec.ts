import { deciderSpec } from '../testing/decider-spec';
import { mofcom, sources } from '../testing/fixtures';
import { agreementDecider } from './agreement.decide';

const spec = deciderSpec(agreementDecider);

const concluded = {
  type: 'AgreementConcluded' as const,
  data: {
    agreementId: 'a-kl',
    code: 'kuala-lumpur-2025',
    title: 'Kuala Lumpur consensus',
    parties: ['US', 'CN'],
    venue: 'Kuala Lumpur',
    effectiveAt: '2025-10-26T00:00:00.000Z',
    sources: [mofcom],
  },
  metadata: { eventId: 'e-concluded' },
};
const commitment = {
  type: 'CommitmentRecorded' as const,
  data: {
    commitmentId: 'c-port-fees',
    obligor: 'CN',
    kind: 'suspend' as const,
    text: 'Suspend the special port fees on US vessels for one year',
    condition: 'once the US suspension of its Section 301 maritime measures takes effect',
    effectiveAt: '2025-10-26T00:00:00.000Z',
    sources: [mofcom],
  },
  metadata: { eventId: 'e-commitment' },
};

describe('ConcludeAgreement', () => {
  it('records an agreement between its parties', () => {
    spec
      .given([])
      .when({
        type: 'ConcludeAgreement',
        data: {
          agreementId: 'a-kl',
          code: 'kuala-lumpur-2025',
          title: 'Kuala Lumpur consensus',
          parties: ['US', 'CN', 'US'],
          venue: 'Kuala Lumpur',
          effectiveAt: '2025-10-26T08:00:00+08:00',
          sources: [mofcom],
        },
      })
      .then([
        {
          type: 'AgreementConcluded',
          data: { ...concluded.data, effectiveAt: '2025-10-26T00:00:00.000Z' },
        },
      ]);
  });

  const conclude = (data: object) => ({
    type: 'ConcludeAgreement' as const,
    data: {
      agreementId: 'a',
      title: 'Geneva',
      parties: ['US', 'CN'],
      effectiveAt: '2025-05-12T00:00:00Z',
      sources,
      ...data,
    },
  });

  it.each([
    ['agreement-parties-required', { parties: ['US'] }],
    ['agreement-parties-required', { parties: ['US', 'US'] }],
    ['invalid-party-code', { parties: ['US', 'PRC'] }],
    ['title-required', { title: '' }],
    ['invalid-code', { code: 'a/b' }],
    ['text-required', { venue: '' }],
    ['invalid-instant', { effectiveAt: '2025-05-12' }],
    ['source-required', { sources: [] }],
    ['invalid-id', { agreementId: ' a' }],
  ])('rejects %s (%j)', (code, data) => {
    spec
      .given([])
      .when(conclude(data))
      .thenThrows(code as never);
  });

  it('rejects an agreement already recorded', () => {
    spec.given([concluded]).when(conclude({})).thenThrows('agreement-already-exists');
  });
});

describe('RecordCommitment', () => {
  it('records a conditional commitment linked to measures, effective when concluded', () => {
    spec
      .given([concluded])
      .when({
        type: 'RecordCommitment',
        data: { ...commitment.data, effectiveAt: undefined, measures: ['m-cn-port', 'm-cn-port'] },
      })
      .then([
        { type: 'CommitmentRecorded', data: { ...commitment.data, measures: ['m-cn-port'] } },
      ]);
  });

  it('generates a commitment id when none is given', () => {
    spec
      .given([concluded])
      .when({
        type: 'RecordCommitment',
        data: {
          obligor: 'US',
          kind: 'purchase',
          text: 'x',
          dueAt: '2025-12-31T23:59:59-05:00',
          sources,
        },
      })
      .then([
        {
          type: 'CommitmentRecorded',
          data: {
            commitmentId: 'id-1',
            obligor: 'US',
            kind: 'purchase',
            text: 'x',
            dueAt: '2026-01-01T04:59:59.000Z',
            effectiveAt: '2025-10-26T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  const record = (data: object) => ({
    type: 'RecordCommitment' as const,
    data: { obligor: 'CN', kind: 'suspend' as const, text: 'x', sources, ...data },
  });

  it.each([
    ['obligor-not-party', { obligor: 'JP' }],
    ['invalid-party-code', { obligor: 'cn' }],
    ['invalid-commitment-kind', { kind: 'promise' }],
    ['text-required', { text: '' }],
    ['text-required', { condition: ' ' }],
    ['invalid-id', { measures: [''] }],
    ['invalid-instant', { dueAt: 'end of 2025' }],
    ['source-required', { sources: [] }],
  ])('rejects %s (%j)', (code, data) => {
    spec
      .given([concluded])
      .when(record(data))
      .thenThrows(code as never);
  });

  it('rejects a commitment id already in use', () => {
    spec
      .given([concluded, commitment])
      .when(record({ commitmentId: 'c-port-fees' }))
      .thenThrows('commitment-already-exists');
  });

  it('rejects an unknown agreement', () => {
    spec.given([]).when(record({})).thenThrows('agreement-not-found');
  });
});

describe('ChangeCommitmentStatus', () => {
  it('marks a commitment fulfilled', () => {
    spec
      .given([concluded, commitment])
      .when({
        type: 'ChangeCommitmentStatus',
        data: {
          commitmentId: 'c-port-fees',
          status: 'fulfilled',
          note: 'MOT suspended Ann. No. 54',
          effectiveAt: '2025-11-10T05:01:00Z',
          sources,
        },
      })
      .then([
        {
          type: 'CommitmentStatusChanged',
          data: {
            commitmentId: 'c-port-fees',
            status: 'fulfilled',
            previousStatus: 'pending',
            note: 'MOT suspended Ann. No. 54',
            effectiveAt: '2025-11-10T05:01:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('rejects an unchanged status', () => {
    spec
      .given([concluded, commitment])
      .when({
        type: 'ChangeCommitmentStatus',
        data: {
          commitmentId: 'c-port-fees',
          status: 'pending',
          effectiveAt: '2025-11-10T05:01:00Z',
          sources,
        },
      })
      .thenThrows('commitment-status-unchanged');
  });

  it('rejects an unknown status', () => {
    spec
      .given([concluded, commitment])
      .when({
        type: 'ChangeCommitmentStatus',
        data: {
          commitmentId: 'c-port-fees',
          status: 'done' as never,
          effectiveAt: '2025-11-10T05:01:00Z',
          sources,
        },
      })
      .thenThrows('invalid-commitment-status');
  });

  it('rejects an unknown commitment', () => {
    spec
      .given([concluded])
      .when({
        type: 'ChangeCommitmentStatus',
        data: {
          commitmentId: 'nope',
          status: 'breached',
          effectiveAt: '2025-11-10T05:01:00Z',
          sources,
        },
      })
      .thenThrows('commitment-not-found');
  });
});

describe('ReaffirmAgreement', () => {
  it('reaffirms an earlier agreement', () => {
    spec
      .given([concluded])
      .when({
        type: 'ReaffirmAgreement',
        data: { reaffirmed: { id: 'a-madrid' }, sources: [mofcom] },
      })
      .then([
        {
          type: 'AgreementReaffirmed',
          data: {
            reaffirms: 'a-madrid',
            effectiveAt: '2025-10-26T00:00:00.000Z',
            sources: [mofcom],
          },
        },
      ]);
  });

  it('rejects an unknown agreement to reaffirm', () => {
    spec
      .given([concluded])
      .when({ type: 'ReaffirmAgreement', data: { reaffirmed: null, sources } })
      .thenThrows('agreement-not-found');
  });

  it('rejects reaffirming itself', () => {
    spec
      .given([concluded])
      .when({ type: 'ReaffirmAgreement', data: { reaffirmed: { id: 'a-kl' }, sources } })
      .thenThrows('agreement-self-reaffirmation');
  });

  it('rejects reaffirming the same agreement twice', () => {
    spec
      .given([
        concluded,
        {
          type: 'AgreementReaffirmed',
          data: { reaffirms: 'a-madrid', effectiveAt: '2025-10-26T00:00:00.000Z', sources },
        },
      ])
      .when({ type: 'ReaffirmAgreement', data: { reaffirmed: { id: 'a-madrid' }, sources } })
      .thenThrows('agreement-already-reaffirmed');
  });

  it('rejects an unknown agreement', () => {
    spec
      .given([])
      .when({ type: 'ReaffirmAgreement', data: { reaffirmed: { id: 'a-madrid' }, sources } })
      .thenThrows('agreement-not-found');
  });
});

describe('RecordPartyClaim on an agreement', () => {
  it("records each side's account", () => {
    spec
      .given([concluded])
      .when({
        type: 'RecordPartyClaim',
        data: {
          claimId: 'claim-us',
          party: 'US',
          about: 'exclusion extension',
          statement: 'China extends its exclusions until 31 Dec 2026',
          sources,
        },
      })
      .then([
        {
          type: 'PartyClaimRecorded',
          data: {
            claimId: 'claim-us',
            party: 'US',
            about: 'exclusion extension',
            statement: 'China extends its exclusions until 31 Dec 2026',
            effectiveAt: '2026-01-15T12:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('rejects an unknown agreement', () => {
    spec
      .given([])
      .when({ type: 'RecordPartyClaim', data: { party: 'US', statement: 'x', sources } })
      .thenThrows('agreement-not-found');
  });
});

describe('RetractEvent on an agreement', () => {
  it('retracts a commitment', () => {
    spec
      .given([concluded, commitment])
      .when({
        type: 'RetractEvent',
        data: { eventId: 'e-commitment', reason: 'Not in the official readout', sources },
      })
      .then([
        expect.objectContaining({
          type: 'EventRetracted',
          data: expect.objectContaining({ eventId: 'e-commitment' }),
        }),
      ]);
  });

  it('rejects an unknown event', () => {
    spec
      .given([concluded])
      .when({ type: 'RetractEvent', data: { eventId: 'nope', reason: 'x', sources } })
      .thenThrows('event-not-found');
  });

  it('rejects an event already retracted', () => {
    spec
      .given([
        concluded,
        commitment,
        {
          type: 'EventRetracted',
          data: {
            eventId: 'e-commitment',
            reason: 'x',
            effectiveAt: '2026-01-01T00:00:00.000Z',
            sources,
          },
        },
      ])
      .when({ type: 'RetractEvent', data: { eventId: 'e-commitment', reason: 'x', sources } })
      .thenThrows('event-already-retracted');
  });
});
