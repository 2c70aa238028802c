import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  agreementDecider,
  DomainError,
  initialAgreementState,
  type Agreement,
  type AgreementCommand,
  type AgreementEvent,
  type AgreementState,
} from '@app/domain';
import { StreamCodeIndex, type CodedKind } from '../codes/stream-code-index';
import { agreementStreamId } from '../trade.streams';
import { AggregateWriter } from '../write/aggregate-writer';
import type { WriteResult } from '../write/write-options';
import {
  addedReaffirmations,
  gatherReaffirmations,
  refuseReaffirmationCycles,
} from './reaffirmation-cycles';
import { ExecuteAgreementAction, type AgreementAction } from './execute-agreement-action.command';

/** Resolves what an agreement action refers to, then lets the agreement's decider decide. */
@CommandHandler(ExecuteAgreementAction)
export class ExecuteAgreementActionHandler implements ICommandHandler<
  ExecuteAgreementAction,
  WriteResult
> {
  constructor(
    @Inject(AggregateWriter) private readonly writer: AggregateWriter,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {}

  async execute({ agreement, action, options }: ExecuteAgreementAction): Promise<WriteResult> {
    const agreementId =
      action.action === 'conclude-agreement'
        ? (action.agreementId ?? randomUUID())
        : await this.requireId('agreement', agreement ?? '');
    const command = await this.toCommand(agreementId, action);
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

  private async toCommand(agreementId: string, action: AgreementAction): Promise<AgreementCommand> {
    switch (action.action) {
      case 'conclude-agreement': {
        const { concludedAt, ...rest } = action.body;
        return {
          type: 'ConcludeAgreement',
          data: { ...rest, agreementId, effectiveAt: concludedAt },
        };
      }
      case 'record-commitment': {
        const { measures, ...rest } = action.body;
        return {
          type: 'RecordCommitment',
          data: {
            ...rest,
            commitmentId: action.commitmentId,
            measures:
              measures && (await Promise.all(measures.map((m) => this.requireId('measure', m)))),
          },
        };
      }
      case 'change-commitment-status':
        return {
          type: 'ChangeCommitmentStatus',
          data: { ...action.body, commitmentId: action.commitmentId },
        };
      case 'reaffirm-agreement': {
        const { reaffirms, ...rest } = action.body;
        const earlierId = await this.codes.resolve('agreement', reaffirms);
        const earlier = earlierId === null ? null : await this.loadAgreement(earlierId);
        return {
          type: 'ReaffirmAgreement',
          data: {
            ...rest,
            reaffirmed: earlier,
            reaffirmations:
              earlier === null
                ? undefined
                : await gatherReaffirmations(
                    earlier.id,
                    async (id) => (await this.loadAgreement(id))?.reaffirms ?? [],
                  ),
          },
        };
      }
      case 'record-claim':
        return { type: 'RecordPartyClaim', data: { ...action.body, claimId: action.claimId } };
      case 'retract-event':
        return { type: 'RetractEvent', data: action.body };
      default: {
        const unknownAction: never = action;
        throw new Error(`Unknown agreement action ${JSON.stringify(unknownAction)}`);
      }
    }
  }

  private async loadAgreement(agreementId: string): Promise<Agreement | null> {
    const { state } = await this.writer.load<AgreementEvent, AgreementState>(
      agreementDecider,
      agreementStreamId(agreementId),
    );
    return state.agreement;
  }

  private async requireId(kind: CodedKind, idOrCode: string): Promise<string> {
    const id = await this.codes.resolve(kind, idOrCode);
    if (!id) {
      throw new DomainError(`${kind}-not-found`, `No ${kind} is named ${idOrCode}`, {
        [kind]: idOrCode,
      });
    }
    return id;
  }
}
