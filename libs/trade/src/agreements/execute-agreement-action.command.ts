import type {
  ChangeCommitmentStatusBody,
  ConcludeAgreementBody,
  ReaffirmAgreementBody,
  RecordClaimBody,
  RecordCommitmentBody,
  RetractionBody,
} from '../write/trade-write.schemas';
import type { WriteOptions } from '../write/write-options';

/** Everything that can be done to an agreement, as the api and the importer express it. */
export type AgreementAction =
  | { action: 'conclude-agreement'; agreementId?: string; body: ConcludeAgreementBody }
  | { action: 'record-commitment'; commitmentId?: string; body: RecordCommitmentBody }
  | {
      action: 'change-commitment-status';
      commitmentId: string;
      body: ChangeCommitmentStatusBody;
    }
  | { action: 'reaffirm-agreement'; body: ReaffirmAgreementBody }
  | { action: 'record-claim'; claimId?: string; body: RecordClaimBody }
  | { action: 'retract-event'; body: RetractionBody };

export class ExecuteAgreementAction {
  constructor(
    /** The agreement's id or code; ignored by `conclude-agreement`, which creates one. */
    readonly agreement: string | null,
    readonly action: AgreementAction,
    readonly options: WriteOptions,
  ) {}
}
