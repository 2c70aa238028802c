import { Module } from '@nestjs/common';
import { EventStoreModule } from '@app/event-store';
import { TradeModule } from '@app/trade';
import { AgreementQueries } from './agreement-status/agreement-queries';
import { AgreementStatusProjection } from './agreement-status/agreement-status.projection';
import { MeasureQueries } from './measure-status/measure-queries';
import { MeasureStatusProjection } from './measure-status/measure-status.projection';
import { ReadYourWrites } from './read-your-writes';

/** Read models: their projections (run by the worker) and their queries (used by the api). */
@Module({
  imports: [EventStoreModule, TradeModule],
  providers: [
    MeasureStatusProjection,
    AgreementStatusProjection,
    MeasureQueries,
    AgreementQueries,
    ReadYourWrites,
  ],
  exports: [
    MeasureStatusProjection,
    AgreementStatusProjection,
    MeasureQueries,
    AgreementQueries,
    ReadYourWrites,
  ],
})
export class ProjectionsModule {}
