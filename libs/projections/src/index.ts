import { CreateAgreementStatus1764300004000 } from './agreement-status/agreement-status.migration';
import { CreateMeasureStatus1764300003000 } from './measure-status/measure-status.migration';

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
  markRetractions,
  type MeasureListQuery,
  type StatusQuery,
} from './measure-status/measure-queries';
export type { MeasureView, MeasureLink } from './measure-status/measure-view';
export { AgreementQueries } from './agreement-status/agreement-queries';
export { ReadYourWrites } from './read-your-writes';

export const projectionMigrations = [
  CreateMeasureStatus1764300003000,
  CreateAgreementStatus1764300004000,
];
