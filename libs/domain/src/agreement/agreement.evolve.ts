import { claimFrom } from '../shared/party-claim';
import { liveEvents } from '../shared/retraction';
import { pickDefined } from '../shared/source';
import type { AgreementEvent } from './agreement.events';
import type { Agreement, AgreementState, Commitment } from './agreement.state';

/** Keeps the whole history so that a retraction is honoured by replaying what still stands. */
export function evolveAgreement(state: AgreementState, event: AgreementEvent): AgreementState {
  const history = [...state.history, event];
  if (event.type === 'EventRetracted') return { history, agreement: replayAgreement(history) };
  return { history, agreement: applyFact(state.agreement, event) };
}

export function replayAgreement(history: readonly AgreementEvent[]): Agreement | null {
  return liveEvents(history).reduce(applyFact, null);
}

// Lenient by design: after a retraction a fact may refer to something that no longer exists.
function applyFact(agreement: Agreement | null, event: AgreementEvent): Agreement | null {
  if (event.type === 'AgreementConcluded') {
    const { agreementId, effectiveAt, ...terms } = event.data;
    return pickDefined({
      commitments: [],
      reaffirms: [],
      claims: [],
      ...agreement,
      ...terms,
      id: agreementId,
      concludedAt: effectiveAt,
    });
  }
  if (!agreement) return null;
  switch (event.type) {
    case 'CommitmentRecorded': {
      const { commitmentId, effectiveAt, measures, ...terms } = event.data;
      if (agreement.commitments.some((c) => c.id === commitmentId)) return agreement;
      const commitment: Commitment = {
        ...terms,
        id: commitmentId,
        measures: measures ?? [],
        status: 'pending',
        recordedAt: effectiveAt,
        statusHistory: [],
      };
      return { ...agreement, commitments: [...agreement.commitments, commitment] };
    }
    case 'CommitmentStatusChanged': {
      const { commitmentId, status, note, effectiveAt, sources } = event.data;
      const change = pickDefined({
        eventId: event.metadata.eventId,
        status,
        effectiveAt,
        note,
        sources,
      });
      return updateCommitment(agreement, commitmentId, (c) => ({
        ...c,
        status,
        statusHistory: [...c.statusHistory, change],
      }));
    }
    case 'AgreementReaffirmed':
      return agreement.reaffirms.includes(event.data.reaffirms)
        ? agreement
        : { ...agreement, reaffirms: [...agreement.reaffirms, event.data.reaffirms] };
    case 'PartyClaimRecorded':
      return { ...agreement, claims: [...agreement.claims, claimFrom(event)] };
    case 'EventRetracted':
      return agreement;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function updateCommitment(
  agreement: Agreement,
  commitmentId: string,
  update: (commitment: Commitment) => Commitment,
): Agreement {
  return {
    ...agreement,
    commitments: agreement.commitments.map((c) => (c.id === commitmentId ? update(c) : c)),
  };
}
