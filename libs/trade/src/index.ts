import { CreateStreamCodes1764300001000 } from './migrations/1764300001000-create-stream-codes';
import { CreateSuspensionWaits1764300002000 } from './migrations/1764300002000-create-suspension-waits';

export { TradeModule } from './trade.module';
export { StreamCodeIndex, type CodedKind } from './codes/stream-code-index';
export { AggregateWriter } from './write/aggregate-writer';
export { loadAggregate, toDomainEvent } from './write/load-aggregate';
export type { WriteOptions, WriteResult } from './write/write-options';
export * from './write/trade-write.schemas';
export {
  ExecuteMeasureAction,
  type MeasureAction,
} from './measures/execute-measure-action.command';
export {
  ExecuteAgreementAction,
  type AgreementAction,
} from './agreements/execute-agreement-action.command';
export { requireId, type ActionResolver } from './write/action-resolver';
export { toMeasureCommand } from './measures/to-measure-command';
export { toAgreementCommand } from './agreements/to-agreement-command';
export { measureStreamId, agreementStreamId, aggregateIdOf } from './trade.streams';

export { ConditionalSuspensionStarter } from './process-managers/conditional-suspension-starter';

export const tradeMigrations = [CreateStreamCodes1764300001000, CreateSuspensionWaits1764300002000];
