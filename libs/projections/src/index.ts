import { CreateAgreementStatus1764300004000 } from './agreement-status/agreement-status.migration';
import { CreateMeasureStatus1764300003000 } from './measure-status/measure-status.migration';
import { MeasureStatusLeanRow1764500000000 } from './measure-status/measure-status-lean-row.migration';
import { MeasureStatusCoveredParties1764800000000 } from './measure-status/measure-status-covered-parties.migration';
import { MeasureStatusLinkedTo1764960001000 } from './measure-status/measure-status-linked-to.migration';
import { MeasureStatusRevokedListItems1765530000000 } from './measure-status/measure-status-revoked-list-items.migration';
import { CountermeasureLinkEventsIndex1764990000000 } from './measure-status/countermeasure-link-events-index.migration';
import { SuspensionEndsCoveredAtEnd1764960000000 } from './suspension-ends/suspension-ends-covered-at-end.migration';
import { SuspensionEndsCoveredParties1764800002000 } from './suspension-ends/suspension-ends-covered-parties.migration';
import { SuspensionEndsLeanRow1764510000000 } from './suspension-ends/suspension-ends-lean-row.migration';
import { CreateSuspensionEnds1764300010000 } from './suspension-ends/suspension-ends.migration';
import { TimelineLeanRows1764510001000 } from './timeline/timeline-lean-rows.migration';
import { TimelinePartiesInForce1764960002000 } from './timeline/timeline-parties-in-force.migration';
import { TimelineExactSpans1764960003000 } from './timeline/timeline-exact-spans.migration';
import { TimelineRetractedDuring1764910000000 } from './timeline/timeline-retracted-during.migration';
import { TimelineFactsEndedByRevocation1765520000000 } from './timeline/timeline-facts-ended-by-revocation.migration';
import { TimelineRevocationsBroughtForward1765510000000 } from './timeline/timeline-revocations-brought-forward.migration';
import { CreateTimeline1764300011000 } from './timeline/timeline.migration';

export { ProjectionsModule } from './projections.module';
export {
  MeasureStatusProjection,
  MEASURE_STATUS_PROJECTION,
} from './measure-status/measure-status.projection';
export {
  AgreementStatusProjection,
  AGREEMENT_STATUS_PROJECTION,
} from './agreement-status/agreement-status.projection';

export {
  MeasureQueries,
  measurePageJson,
  type MeasurePage,
  type MeasureListQuery,
  type StatusQuery,
} from './measure-status/measure-queries';
export type { MeasureView, MeasureLink, MeasureSummary } from './measure-status/measure-view';
export { AgreementQueries } from './agreement-status/agreement-queries';
export {
  SuspensionEndsProjection,
  SUSPENSION_ENDS_PROJECTION,
} from './suspension-ends/suspension-ends.projection';
export {
  SuspensionEndQueries,
  type SuspensionEndQuery,
  type SuspensionEndView,
} from './suspension-ends/suspension-end-queries';
export { TimelineProjection, TIMELINE_PROJECTION } from './timeline/timeline.projection';
export { TimelineQueries, type TimelineQuery } from './timeline/timeline-queries';
export {
  TariffSummaryQueries,
  type TariffLine,
  type TariffSummaryQuery,
} from './tariff-summary/tariff-summary-queries';
export { InvalidCursorError } from './cursor';
export { type TaggedStatusQuery, type TaggedView } from './entity-tag';
export { markRetractions } from './event-history';
export { readModelAheadOfLog, type StreamAheadOfLog } from './read-models-ahead-of-log';
export { MeasureFold, type FoldedMeasure, type StoredMeasure } from './measure-fold';
export { ReadYourWrites, type PositionWait } from './read-your-writes';
export { ProjectionRebuildModule } from './rebuild/projection-rebuild.module';
export {
  ProjectionRebuilder,
  RebuildAbortedError,
  RebuildInProgressError,
  type RebuildOptions,
  type RebuildPhase,
  type RebuildProgress,
  type RebuildResult,
} from './rebuild/projection-rebuilder';
export { RebuildableProjections } from './rebuild/rebuildable-projections';
export { isRebuildable, type RebuildableProjection } from './rebuild/rebuildable-projection';

export const projectionMigrations = [
  CreateMeasureStatus1764300003000,
  CreateAgreementStatus1764300004000,
  CreateSuspensionEnds1764300010000,
  CreateTimeline1764300011000,
  MeasureStatusLeanRow1764500000000,
  SuspensionEndsLeanRow1764510000000,
  TimelineLeanRows1764510001000,
  MeasureStatusCoveredParties1764800000000,
  SuspensionEndsCoveredParties1764800002000,
  TimelineRetractedDuring1764910000000,
  SuspensionEndsCoveredAtEnd1764960000000,
  MeasureStatusLinkedTo1764960001000,
  TimelinePartiesInForce1764960002000,
  TimelineExactSpans1764960003000,
  CountermeasureLinkEventsIndex1764990000000,
  TimelineRevocationsBroughtForward1765510000000,
  TimelineFactsEndedByRevocation1765520000000,
  MeasureStatusRevokedListItems1765530000000,
];
