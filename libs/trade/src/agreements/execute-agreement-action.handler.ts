import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { agreementDecider, initialAgreementState } from '@app/domain';
import { StreamCodeIndex } from '../codes/stream-code-index';
import { agreementStreamId } from '../trade.streams';
import { requireId, storedActionResolver, type ActionResolver } from '../write/action-resolver';
import { AggregateWriter } from '../write/aggregate-writer';
import type { WriteResult } from '../write/write-options';
import { addedReaffirmations, refuseReaffirmationCycles } from './reaffirmation-cycles';
import { ExecuteAgreementAction } from './execute-agreement-action.command';
import { toAgreementCommand } from './to-agreement-command';

/** Resolves what an agreement action refers to, then lets the agreement's decider decide. */
@CommandHandler(ExecuteAgreementAction)
export class ExecuteAgreementActionHandler implements ICommandHandler<
  ExecuteAgreementAction,
  WriteResult
> {
  private readonly resolver: ActionResolver;

  constructor(
    @Inject(AggregateWriter) private readonly writer: AggregateWriter,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {
    this.resolver = storedActionResolver(writer, codes);
  }

  async execute({ agreement, action, options }: ExecuteAgreementAction): Promise<WriteResult> {
    const agreementId =
      action.action === 'conclude-agreement'
        ? (action.agreementId ?? randomUUID())
        : await requireId(this.resolver, 'agreement', agreement ?? '');
    const command = await toAgreementCommand(agreementId, action, this.resolver);
    const code = action.action === 'conclude-agreement' ? action.body.code : undefined;
    let decidedOn = initialAgreementState();
    return this.writer.write({
      decider: agreementDecider,
      streamId: agreementStreamId(agreementId),
      aggregateId: agreementId,
      command: (state) => {
        decidedOn = state;
        return command;
      },
      options,
      createsWithGeneratedId: action.action === 'conclude-agreement' && !action.agreementId,
      beforeCommit: (events) => {
        if (code) return this.codes.claim('agreement', code, agreementId);
        // Whatever the action: retracting the retraction of a reaffirmation revives it too.
        const added = addedReaffirmations(decidedOn, events);
        return added.length ? refuseReaffirmationCycles(agreementId, added) : undefined;
      },
    });
  }
}
