import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EventStoreModule } from '@app/event-store';
import { ExecuteAgreementActionHandler } from './agreements/execute-agreement-action.handler';
import { StreamCodeIndex } from './codes/stream-code-index';
import { ExecuteMeasureActionHandler } from './measures/execute-measure-action.handler';
import { ConditionalSuspensionStarter } from './process-managers/conditional-suspension-starter';
import { AggregateWriter } from './write/aggregate-writer';

/** The write side of the trade domain: command handlers over the event store. */
@Module({
  imports: [CqrsModule, EventStoreModule],
  providers: [
    AggregateWriter,
    StreamCodeIndex,
    ExecuteMeasureActionHandler,
    ExecuteAgreementActionHandler,
    ConditionalSuspensionStarter,
  ],
  exports: [AggregateWriter, StreamCodeIndex, ConditionalSuspensionStarter],
})
export class TradeModule {}
