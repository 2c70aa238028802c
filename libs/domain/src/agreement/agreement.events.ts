import type { DomainEvent, Sourced } from '../shared/event';
import type { Instant } from '../shared/instant';
import type { PartyClaimRecorded } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { EventRetracted } from '../shared/retraction';

export const COMMITMENT_KINDS = [
  'suspend',
  'cancel',
  'adjust',
  'extend',
  'purchase',
  'cooperate',
  'address-issue',
] as const;

export type CommitmentKind = (typeof COMMITMENT_KINDS)[number];

export const COMMITMENT_STATUSES = ['pending', 'fulfilled', 'lapsed', 'breached'] as const;

export type CommitmentStatus = (typeof COMMITMENT_STATUSES)[number];

/** `effectiveAt` is when the agreement was concluded. */
export interface AgreementConcludedData extends Sourced {
  agreementId: string;
  code?: string;
  title: string;
  parties: PartyCode[];
  venue?: string;
  summary?: string;
}

export interface CommitmentRecordedData extends Sourced {
  commitmentId: string;
  obligor: PartyCode;
  kind: CommitmentKind;
  text: string;
  /** Ids of the measures the commitment is about. */
  measures?: string[];
  dueAt?: Instant;
  /** e.g. "once the US suspension takes effect". */
  condition?: string;
}

export interface CommitmentStatusChangedData extends Sourced {
  commitmentId: string;
  status: CommitmentStatus;
  previousStatus: CommitmentStatus;
  note?: string;
}

export interface AgreementReaffirmedData extends Sourced {
  /** The earlier agreement this one reaffirms (Kuala Lumpur reaffirms Madrid). */
  reaffirms: string;
}

export type AgreementConcluded = DomainEvent<'AgreementConcluded', AgreementConcludedData>;
export type CommitmentRecorded = DomainEvent<'CommitmentRecorded', CommitmentRecordedData>;
export type CommitmentStatusChanged = DomainEvent<
  'CommitmentStatusChanged',
  CommitmentStatusChangedData
>;
export type AgreementReaffirmed = DomainEvent<'AgreementReaffirmed', AgreementReaffirmedData>;

export type AgreementEvent =
  | AgreementConcluded
  | CommitmentRecorded
  | CommitmentStatusChanged
  | AgreementReaffirmed
  | PartyClaimRecorded
  | EventRetracted;

export type AgreementEventType = AgreementEvent['type'];

export const AGREEMENT_EVENT_TYPES = [
  'AgreementConcluded',
  'CommitmentRecorded',
  'CommitmentStatusChanged',
  'AgreementReaffirmed',
  'PartyClaimRecorded',
  'EventRetracted',
] as const satisfies readonly AgreementEventType[];

// Fails to compile when a type joins the union but not the list above.
const everyTypeListed: [
  Exclude<AgreementEventType, (typeof AGREEMENT_EVENT_TYPES)[number]>,
] extends [never]
  ? true
  : never = true;
void everyTypeListed;
