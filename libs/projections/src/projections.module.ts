import { Module } from '@nestjs/common';
import { EventStoreModule } from '@app/event-store';
import { TradeModule } from '@app/trade';
import { AgreementQueries } from './agreement-status/agreement-queries';
import { AgreementStatusProjection } from './agreement-status/agreement-status.projection';
import { MeasureFold } from './measure-fold';
import { MeasureQueries } from './measure-status/measure-queries';
import { MeasureStatusProjection } from './measure-status/measure-status.projection';
import { ReadYourWrites } from './read-your-writes';
import { SuspensionEndQueries } from './suspension-ends/suspension-end-queries';
import { SuspensionEndsProjection } from './suspension-ends/suspension-ends.projection';
import { TariffSummaryQueries } from './tariff-summary/tariff-summary-queries';
import { TimelineQueries } from './timeline/timeline-queries';
import { TimelineProjection } from './timeline/timeline.projection';

/** Read models: their projections (run by the worker) and their queries (used by the api). */
@Module({
  imports: [EventStoreModule, TradeModule],
  providers: [
    MeasureFold,
    MeasureStatusProjection,
    AgreementStatusProjection,
    MeasureQueries,
    AgreementQueries,
    ReadYourWrites,
    SuspensionEndsProjection,
    SuspensionEndQueries,
    TimelineProjection,
    TimelineQueries,
    TariffSummaryQueries,
  ],
  exports: [
    MeasureFold,
    MeasureStatusProjection,
    AgreementStatusProjection,
    MeasureQueries,
    AgreementQueries,
    ReadYourWrites,
    SuspensionEndsProjection,
    SuspensionEndQueries,
    TimelineProjection,
    TimelineQueries,
    TariffSummaryQueries,
  ],
})
export class ProjectionsModule {}
