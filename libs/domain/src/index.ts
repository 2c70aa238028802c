// The public face of @app/domain. Everything else in this folder is internal.

// Shared value objects and rules
export {
  DOMAIN_ERROR_KINDS,
  DomainError,
  isDomainError,
  type DomainErrorCode,
  type DomainErrorKind,
} from './shared/domain-error';
export { ISO_3166_ALPHA_2, isPartyCode, type PartyCode } from './shared/party-code';
export { toSources, type Confidence, type Source } from './shared/source';
export {
  DEFAULT_TIME_ZONE,
  addDurations,
  isInstant,
  isInStorableRange,
  isIsoDuration,
  isTimeZone,
  minusDuration,
  plusDuration,
  toInstant,
  toIsoDuration,
  toTimeZone,
  type Instant,
  type IsoDuration,
  type TimeZone,
} from './shared/instant';
export { textRefusal, withoutControlCharacters } from './shared/text';
export { canonicalJson } from './shared/canonical-json';
export {
  isMillisecondLeadTime,
  isSchedulableLeadTime,
  isValidLeadTime,
  isWithinMaxLeadTime,
  LEAD_TIME_RULE,
  MAX_LEAD_TIME,
} from './shared/lead-time';
export {
  rateAt,
  toRate,
  type AdValoremRate,
  type AdValoremStep,
  type Rate,
  type SpecificRate,
  type SpecificStep,
  type SuspendedPart,
} from './shared/rate';
export { toScope, type Scope } from './shared/scope';
export { valueAt, type Change } from './shared/change';
export { isUuid } from './shared/identifier';
export {
  decideAll,
  foldEvents,
  type DecisionContext,
  type Decider,
  type DomainCommand,
  type DomainEvent,
  type EventMetadata,
  type Sourced,
} from './shared/event';
export {
  liveEvents,
  retractedEventIds,
  type EventRetracted,
  type EventRetractedData,
  type RetractEvent,
} from './shared/retraction';
export {
  type PartyClaim,
  type PartyClaimRecorded,
  type PartyClaimRecordedData,
  type RecordPartyClaim,
} from './shared/party-claim';

// Measure
export * from './measure/measure.events';
export * from './measure/measure.commands';
export {
  coveredPartiesOf,
  coversOn,
  partiesCoveredOn,
  findExclusion,
  findSuspension,
  initialMeasureState,
  type Exclusion,
  type Measure,
  type MeasureState,
  type Suspension,
  type SuspensionExtension,
  type SuspensionState,
} from './measure/measure.state';
export { evolveMeasure, replayMeasure } from './measure/measure.evolve';
export { decideMeasure, measureDecider } from './measure/measure.decide';
export {
  fullRateAt,
  isEndRevoked,
  measureStatusAt,
  suspensionsInEffectAt,
  type MeasureStatus,
  type MeasureStatusView,
  type SuspensionInEffect,
} from './measure/measure.status';

// Agreement
export * from './agreement/agreement.events';
export * from './agreement/agreement.commands';
export {
  commitmentStatusAt,
  findCommitment,
  initialAgreementState,
  type Agreement,
  type AgreementState,
  type Commitment,
  type CommitmentStatusChange,
} from './agreement/agreement.state';
export { evolveAgreement, replayAgreement } from './agreement/agreement.evolve';
export { agreementDecider, decideAgreement } from './agreement/agreement.decide';
export {
  ensureNoReaffirmationCycle,
  reaffirmationPath,
  type ReaffirmationGraph,
} from './agreement/agreement.reaffirmations';
