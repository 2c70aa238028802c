import type { Source } from '@app/domain';
import type {
  AmendMeasureBody,
  EffectiveBody,
  ExtendExclusionBody,
  ExtendSuspensionBody,
  GrantExclusionBody,
  RecordClaimBody,
  RecordMeasureBody,
  RetractionBody,
  ScheduleSuspensionBody,
} from '../write/trade-write.schemas';
import type { WriteOptions } from '../write/write-options';

/**
 * Everything that can be done to a measure, as the api and the importer express it. Ids that
 * the server would otherwise generate may be given (the importer derives them from its keys so
 * that later operations can refer to them).
 */
export type MeasureAction =
  | { action: 'record-measure'; measureId?: string; body: RecordMeasureBody }
  | { action: 'amend-measure'; body: AmendMeasureBody }
  | { action: 'schedule-suspension'; suspensionId?: string; body: ScheduleSuspensionBody }
  | { action: 'extend-suspension'; suspensionId: string; body: ExtendSuspensionBody }
  | { action: 'lift-suspension'; suspensionId: string; body: EffectiveBody }
  | { action: 'revoke-measure'; body: EffectiveBody }
  | { action: 'grant-exclusion'; exclusionId?: string; body: GrantExclusionBody }
  | { action: 'extend-exclusion'; exclusionId: string; body: ExtendExclusionBody }
  | { action: 'record-claim'; claimId?: string; body: RecordClaimBody }
  | { action: 'retract-event'; body: RetractionBody }
  /** Issued by the process manager when a conditional suspension's trigger takes effect. */
  | { action: 'start-suspension'; suspensionId: string; startsAt: string; sources: Source[] }
  /** Issued by the alert worker when an end is reached with no extension. */
  | { action: 'lapse-suspension'; suspensionId: string; endsAt?: string };

export class ExecuteMeasureAction {
  constructor(
    /** The measure's id or code; ignored by `record-measure`, which creates one. */
    readonly measure: string | null,
    readonly action: MeasureAction,
    readonly options: WriteOptions,
  ) {}
}
