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
          parties: ['US', 'CN'],
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
    ['agreement-parties-required', { parties: [] }],
    ['duplicate-agreement-party', { parties: ['US', 'US'] }],
    ['duplicate-agreement-party', { parties: ['US', 'CN', 'US'] }],
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

  it('names the party given twice, as an input error (not folded into one)', () => {
    const error = spec
      .given([])
      .when(conclude({ parties: ['US', 'CN', 'CN'] }))
      .thenThrows('duplicate-agreement-party');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({ field: 'parties[2]', value: 'CN' });
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

  it('records a commitment made after the agreement was concluded', () => {
    spec
      .given([concluded])
      .when(record({ commitmentId: 'c-late', effectiveAt: '2025-11-01T00:00:00Z' }))
      .then([expect.objectContaining({ type: 'CommitmentRecorded' })]);
  });

  it('rejects a commitment dated before the agreement was concluded', () => {
    const error = spec
      .given([concluded])
      .when(record({ effectiveAt: '2020-01-01T00:00:00Z' }))
      .thenThrows('commitment-before-concluded');
    expect(error.kind).toBe('invalid');
    expect(error.details).toMatchObject({
      field: 'effectiveAt',
      concludedAt: '2025-10-26T00:00:00.000Z',
    });
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

  const change = (status: string, effectiveAt: string) => ({
    type: 'CommitmentStatusChanged' as const,
    data: {
      commitmentId: 'c-port-fees',
      status: status as never,
      previousStatus: 'pending' as const,
      effectiveAt,
      sources,
    },
  });
  const changeTo = (status: string, effectiveAt: string) => ({
    type: 'ChangeCommitmentStatus' as const,
    data: { commitmentId: 'c-port-fees', status: status as never, effectiveAt, sources },
  });

  it('rejects a change dated before the agreement was concluded', () => {
    const error = spec
      .given([concluded, commitment])
      .when(changeTo('breached', '2020-01-01T00:00:00Z'))
      .thenThrows('commitment-status-before-concluded');
    expect(error.kind).toBe('invalid');
    expect(error.details).toMatchObject({
      field: 'effectiveAt',
      effectiveAt: '2020-01-01T00:00:00.000Z',
      concludedAt: '2025-10-26T00:00:00.000Z',
    });
  });

  it('rejects a change dated before a commitment made later than the agreement', () => {
    spec
      .given([
        concluded,
        { ...commitment, data: { ...commitment.data, effectiveAt: '2025-11-01T00:00:00.000Z' } },
      ])
      .when(changeTo('fulfilled', '2025-10-30T00:00:00Z'))
      .thenThrows('commitment-status-before-concluded');
  });

  it('accepts a change at the very instant the agreement was concluded', () => {
    spec
      .given([concluded, commitment])
      .when(changeTo('fulfilled', '2025-10-26T00:00:00Z'))
      .then([expect.objectContaining({ type: 'CommitmentStatusChanged' })]);
  });

  it('compares with the status in force on its date, not the one recorded last', () => {
    // Recorded last, but in force earlier: fulfilled from 10 November is what holds on 1 April.
    const history = [
      concluded,
      commitment,
      change('fulfilled', '2025-11-10T05:01:00.000Z'),
      change('breached', '2025-10-28T00:00:00.000Z'),
    ];
    const error = spec
      .given(history)
      .when(changeTo('fulfilled', '2026-04-01T00:00:00Z'))
      .thenThrows('commitment-status-unchanged');
    expect(error.details).toMatchObject({ statusInForce: 'fulfilled' });

    // On 1 November the breach was in force: fulfilling it then is a change, from breached.
    spec
      .given(history)
      .when(changeTo('fulfilled', '2025-11-01T00:00:00Z'))
      .then([
        {
          type: 'CommitmentStatusChanged',
          data: {
            commitmentId: 'c-port-fees',
            status: 'fulfilled',
            previousStatus: 'breached',
            effectiveAt: '2025-11-01T00:00:00.000Z',
            sources,
          },
        },
      ]);
  });

  it('accepts a status recorded last when another was in force on its date', () => {
    // Fulfilled from May 2026 is on record; on 1 April 2026 the commitment was still pending.
    spec
      .given([concluded, commitment, change('fulfilled', '2026-05-01T00:00:00.000Z')])
      .when(changeTo('fulfilled', '2026-04-01T00:00:00Z'))
      .then([
        expect.objectContaining({
          data: expect.objectContaining({ status: 'fulfilled', previousStatus: 'pending' }),
        }),
      ]);
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
    const error = spec
      .given([concluded])
      .when({ type: 'ReaffirmAgreement', data: { reaffirmed: { id: 'a-kl' }, sources } })
      .thenThrows('agreement-self-reaffirmation');
    expect(error.kind).toBe('invalid');
  });

  it('rejects reaffirming an agreement that already reaffirms this one', () => {
    // Madrid reaffirms Kuala Lumpur on record (wrongly): Kuala Lumpur cannot reaffirm Madrid.
    const error = spec
      .given([concluded])
      .when({
        type: 'ReaffirmAgreement',
        data: {
          reaffirmed: { id: 'a-madrid' },
          reaffirmations: { 'a-madrid': ['a-kl'], 'a-kl': [] },
          sources,
        },
      })
      .thenThrows('agreement-reaffirmation-cycle');
    expect(error.kind).toBe('invalid');
    expect(error.details).toEqual({
      field: 'reaffirms',
      reaffirms: 'a-madrid',
      cycle: ['a-kl', 'a-madrid', 'a-kl'],
    });
  });

  it('rejects closing a longer cycle, and follows one already on record without looping', () => {
    // Madrid reaffirms Stockholm, which reaffirms London and Geneva; London and Geneva reaffirm
    // each other (recorded before cycles were refused); Geneva reaffirms Kuala Lumpur.
    const reaffirmations = {
      'a-madrid': ['a-stockholm'],
      'a-stockholm': ['a-london', 'a-geneva'],
      'a-london': ['a-geneva'],
      'a-geneva': ['a-london', 'a-kl'],
    };
    const error = spec
      .given([concluded])
      .when({
        type: 'ReaffirmAgreement',
        data: { reaffirmed: { id: 'a-madrid' }, reaffirmations, sources },
      })
      .thenThrows('agreement-reaffirmation-cycle');
    expect(error.details.cycle).toEqual(['a-kl', 'a-madrid', 'a-stockholm', 'a-geneva', 'a-kl']);

    const withoutKl = { ...reaffirmations, 'a-geneva': ['a-london'] };
    spec
      .given([concluded])
      .when({
        type: 'ReaffirmAgreement',
        data: { reaffirmed: { id: 'a-madrid' }, reaffirmations: withoutKl, sources },
      })
      .then([expect.objectContaining({ type: 'AgreementReaffirmed' })]);
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

  it('rejects a reaffirmation dated before this agreement was concluded', () => {
    spec
      .given([concluded])
      .when({
        type: 'ReaffirmAgreement',
        data: { reaffirmed: { id: 'a-madrid' }, effectiveAt: '2025-10-01T00:00:00Z', sources },
      })
      .thenThrows('reaffirmed-before-concluded');
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
