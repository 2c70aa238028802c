import { randomUUID } from 'node:crypto';
import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  DomainError,
  measureDecider,
  type Measure,
  type MeasureCommand,
  type MeasureRef,
  type MeasureState,
} from '@app/domain';
import { StreamCodeIndex } from '../codes/stream-code-index';
import { measureStreamId } from '../trade.streams';
import { AggregateWriter } from '../write/aggregate-writer';
import { recordMeasureErrorInBodyTerms } from '../write/trade-write.schemas';
import type { WriteResult } from '../write/write-options';
import { ExecuteMeasureAction, type MeasureAction } from './execute-measure-action.command';

/** Resolves what a measure action refers to, then lets the measure's decider decide. */
@CommandHandler(ExecuteMeasureAction)
export class ExecuteMeasureActionHandler implements ICommandHandler<
  ExecuteMeasureAction,
  WriteResult
> {
  constructor(
    @Inject(AggregateWriter) private readonly writer: AggregateWriter,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {}

  async execute({ measure, action, options }: ExecuteMeasureAction): Promise<WriteResult> {
    const measureId =
      action.action === 'record-measure'
        ? (action.measureId ?? randomUUID())
        : await this.requireMeasureId(measure ?? '');
    const command = await this.toCommand(measureId, action);
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

  private async toCommand(measureId: string, action: MeasureAction): Promise<MeasureCommand> {
    switch (action.action) {
      case 'record-measure': {
        const { threatenedAt, announcedAt, effectiveAt, respondsTo, sources, ...definition } =
          action.body;
        return {
          type: 'RecordMeasure',
          data: {
            measureId,
            measure: definition,
            threatenedAt,
            announcedAt,
            effectiveAt,
            respondsTo: await Promise.all((respondsTo ?? []).map((ref) => this.measureRef(ref))),
            sources,
          },
        };
      }
      case 'amend-measure':
        return { type: 'AmendMeasure', data: action.body };
      case 'schedule-suspension': {
        const { startsWhen, agreement, ...rest } = action.body;
        const triggerId = startsWhen ? await this.requireMeasureId(startsWhen.measure) : undefined;
        return {
          type: 'ScheduleSuspension',
          data: {
            ...rest,
            suspensionId: action.suspensionId,
            startsWhen:
              startsWhen && triggerId
                ? { measure: triggerId, suspension: startsWhen.suspension }
                : undefined,
            triggerMeasure:
              triggerId && triggerId !== measureId ? await this.loadMeasure(triggerId) : undefined,
            agreement: agreement && (await this.requireAgreementId(agreement)),
          },
        };
      }
      case 'extend-suspension': {
        const { agreement, ...rest } = action.body;
        return {
          type: 'ExtendSuspension',
          data: {
            ...rest,
            suspensionId: action.suspensionId,
            agreement: agreement && (await this.requireAgreementId(agreement)),
          },
        };
      }
      case 'lift-suspension':
        return {
          type: 'LiftSuspension',
          data: { ...action.body, suspensionId: action.suspensionId },
        };
      case 'revoke-measure':
        return { type: 'RevokeMeasure', data: action.body };
      case 'grant-exclusion':
        return {
          type: 'GrantExclusion',
          data: { ...action.body, exclusionId: action.exclusionId },
        };
      case 'extend-exclusion':
        return {
          type: 'ExtendExclusion',
          data: { ...action.body, exclusionId: action.exclusionId },
        };
      case 'record-claim':
        return { type: 'RecordPartyClaim', data: { ...action.body, claimId: action.claimId } };
      case 'retract-event':
        return { type: 'RetractEvent', data: action.body };
      case 'start-suspension':
        return {
          type: 'StartSuspension',
          data: {
            suspensionId: action.suspensionId,
            startsAt: action.startsAt,
            sources: action.sources,
          },
        };
      case 'lapse-suspension':
        return { type: 'LapseSuspension', data: { suspensionId: action.suspensionId } };
      default: {
        const unknownAction: never = action;
        throw new Error(`Unknown measure action ${JSON.stringify(unknownAction)}`);
      }
    }
  }

  private async requireMeasureId(idOrCode: string): Promise<string> {
    const id = await this.codes.resolve('measure', idOrCode);
    if (!id)
      throw new DomainError('measure-not-found', `No measure is named ${idOrCode}`, {
        measure: idOrCode,
      });
    return id;
  }

  private async requireAgreementId(idOrCode: string): Promise<string> {
    const id = await this.codes.resolve('agreement', idOrCode);
    if (!id) {
      throw new DomainError('agreement-not-found', `No agreement is named ${idOrCode}`, {
        agreement: idOrCode,
      });
    }
    return id;
  }

  private async loadMeasure(measureId: string): Promise<Measure | null> {
    const { state } = await this.writer.load<MeasureState['history'][number], MeasureState>(
      measureDecider,
      measureStreamId(measureId),
    );
    return state.measure;
  }

  private async measureRef(idOrCode: string): Promise<MeasureRef> {
    const measure = await this.loadMeasure(await this.requireMeasureId(idOrCode));
    if (!measure) {
      throw new DomainError('measure-not-found', `No measure is named ${idOrCode}`, {
        measure: idOrCode,
      });
    }
    return measure;
  }
}
