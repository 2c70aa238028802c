import type { DomainCommand } from '../shared/event';
import type { Instant } from '../shared/instant';
import type { RecordPartyClaim } from '../shared/party-claim';
import type { PartyCode } from '../shared/party-code';
import type { RetractEvent } from '../shared/retraction';
import type { Source } from '../shared/source';
import type { CommitmentKind, CommitmentStatus } from './agreement.events';
import type { ReaffirmationGraph } from './agreement.reaffirmations';
import type { Agreement } from './agreement.state';

interface Cited {
  sources: Source[];
}

/** What a reaffirmation needs to know of the earlier agreement (an `Agreement` will do). */
export type AgreementRef = Pick<Agreement, 'id'>;

export type ConcludeAgreement = DomainCommand<
  'ConcludeAgreement',
  Cited & {
    agreementId: string;
    code?: string;
    title: string;
    parties: PartyCode[];
    venue?: string;
    summary?: string;
    /** When it was concluded. */
    effectiveAt: Instant;
  }
>;

export type RecordCommitment = DomainCommand<
  'RecordCommitment',
  Cited & {
    /** Lets an import refer to the commitment; generated when absent. */
    commitmentId?: string;
    obligor: PartyCode;
    kind: CommitmentKind;
    text: string;
    measures?: string[];
    dueAt?: Instant;
    condition?: string;
    /** Defaults to when the agreement was concluded. */
    effectiveAt?: Instant;
  }
>;

export type ChangeCommitmentStatus = DomainCommand<
  'ChangeCommitmentStatus',
  Cited & { commitmentId: string; status: CommitmentStatus; note?: string; effectiveAt: Instant }
>;

export type ReaffirmAgreement = DomainCommand<
  'ReaffirmAgreement',
  Cited & {
    /** The earlier agreement's state, loaded by the handler (`null` when there is none). */
    reaffirmed: AgreementRef | null;
    /**
     * What the earlier agreement reaffirms, and what those reaffirm, and so on: the part of the
     * graph reachable from it, gathered by the handler. Absent: it reaffirms nothing.
     */
    reaffirmations?: ReaffirmationGraph;
    /** Defaults to when this agreement was concluded. */
    effectiveAt?: Instant;
  }
>;

export type AgreementCommand =
  | ConcludeAgreement
  | RecordCommitment
  | ChangeCommitmentStatus
  | ReaffirmAgreement
  | RecordPartyClaim
  | RetractEvent;

export type AgreementCommandType = AgreementCommand['type'];
