import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { measureDecider } from '@app/domain';
import { StreamCodeIndex } from '../codes/stream-code-index';
import { measureStreamId } from '../trade.streams';
import { requireId, storedActionResolver, type ActionResolver } from '../write/action-resolver';
import { AggregateWriter } from '../write/aggregate-writer';
import { recordMeasureErrorInBodyTerms } from '../write/trade-write.schemas';
import type { WriteResult } from '../write/write-options';
import { ExecuteMeasureAction } from './execute-measure-action.command';
import { toMeasureCommand } from './to-measure-command';

/** Resolves what a measure action refers to, then lets the measure's decider decide. */
@CommandHandler(ExecuteMeasureAction)
export class ExecuteMeasureActionHandler implements ICommandHandler<
  ExecuteMeasureAction,
  WriteResult
> {
  private readonly resolver: ActionResolver;

  constructor(
    @Inject(AggregateWriter) private readonly writer: AggregateWriter,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {
    this.resolver = storedActionResolver(writer, codes);
  }

  async execute({ measure, action, options }: ExecuteMeasureAction): Promise<WriteResult> {
    const measureId =
      action.action === 'record-measure'
        ? (action.measureId ?? randomUUID())
        : await requireId(this.resolver, 'measure', measure ?? '');
    const command = await toMeasureCommand(measureId, action, this.resolver);
    const code = action.action === 'record-measure' ? action.body.code : undefined;
    return this.writer
      .write({
        decider: measureDecider,
        streamId: measureStreamId(measureId),
        aggregateId: measureId,
        command: () => command,
        options,
        createsWithGeneratedId: action.action === 'record-measure' && !action.measureId,
        beforeCommit: code ? () => this.codes.claim('measure', code, measureId) : undefined,
      })
      .catch((error: unknown) => {
        throw action.action === 'record-measure' ? recordMeasureErrorInBodyTerms(error) : error;
      });
  }
}
