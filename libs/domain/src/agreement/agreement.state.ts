import { type Instant, isAtOrBefore, toInstant, toMillis } from '../shared/instant';
import type { PartyClaim } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { Source } from '../shared/source';
import type { AgreementEvent, CommitmentKind, CommitmentStatus } from './agreement.events';

export interface CommitmentStatusChange {
  eventId: string;
  status: CommitmentStatus;
  effectiveAt: Instant;
  note?: string;
  sources: Source[];
}

export interface Commitment {
  id: string;
  obligor: PartyCode;
  kind: CommitmentKind;
  text: string;
  measures: string[];
  dueAt?: Instant;
  condition?: string;
  /** The latest recorded status. */
  status: CommitmentStatus;
  recordedAt: Instant;
  statusHistory: CommitmentStatusChange[];
  sources: Source[];
}

/** The agreement as the facts that still stand describe it. Plain JSON, fit for a read model. */
export interface Agreement {
  id: string;
  code?: string;
  title: string;
  parties: PartyCode[];
  venue?: string;
  summary?: string;
  concludedAt: Instant;
  commitments: Commitment[];
  /** Ids of earlier agreements this one reaffirms. */
  reaffirms: string[];
  claims: PartyClaim[];
  sources: Source[];
}

export interface AgreementState {
  /** Every event of the stream in order, retractions and retracted events included. */
  history: AgreementEvent[];
  agreement: Agreement | null;
}

export function initialAgreementState(): AgreementState {
  return { history: [], agreement: null };
}

export function findCommitment(agreement: Agreement, commitmentId: string): Commitment | undefined {
  return agreement.commitments.find((commitment) => commitment.id === commitmentId);
}

/** A commitment's status on a date: the last change effective by then, else pending. */
export function commitmentStatusAt(commitment: Commitment, asOf: Instant | Date): CommitmentStatus {
  const at = toInstant(asOf, 'asOf');
  const changes = commitment.statusHistory.filter((change) => isAtOrBefore(change.effectiveAt, at));
  // Stable sort: of two changes effective at the same instant, the one recorded later wins.
  changes.sort((a, b) => toMillis(a.effectiveAt) - toMillis(b.effectiveAt));
  return changes.at(-1)?.status ?? 'pending';
}
