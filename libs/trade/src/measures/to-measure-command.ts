import { DomainError, type MeasureCommand, type MeasureRef } from '@app/domain';
import { requireId, requireRecorded, type ActionResolver } from '../write/action-resolver';
import type { MeasureAction } from './execute-measure-action.command';

/**
 * The measure decider's command for an action on `measureId`: codes resolved to ids, and the
 * measures the decision compares with (those a countermeasure answers, a conditional
 * suspension's trigger) loaded. Reads through `resolver` only; the decision is the decider's.
 */
export async function toMeasureCommand(
  measureId: string,
  action: MeasureAction,
  resolver: ActionResolver,
): Promise<MeasureCommand> {
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
          respondsTo: await Promise.all((respondsTo ?? []).map((ref) => measureRef(resolver, ref))),
          sources,
        },
      };
    }
    case 'amend-measure':
      return { type: 'AmendMeasure', data: action.body };
    case 'schedule-suspension': {
      const { startsWhen, agreement, ...rest } = action.body;
      const triggerId = startsWhen
        ? await requireId(resolver, 'measure', startsWhen.measure)
        : undefined;
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
            triggerId && triggerId !== measureId ? await resolver.measure(triggerId) : undefined,
          agreement:
            agreement && (await requireRecorded(resolver, 'agreement', agreement, 'agreement')),
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
          agreement:
            agreement && (await requireRecorded(resolver, 'agreement', agreement, 'agreement')),
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
      return {
        type: 'LapseSuspension',
        data: { suspensionId: action.suspensionId, endsAt: action.endsAt },
      };
    default: {
      const unknownAction: never = action;
      throw new Error(`Unknown measure action ${JSON.stringify(unknownAction)}`);
    }
  }
}

/** A measure a countermeasure answers: it must be named and recorded. */
async function measureRef(resolver: ActionResolver, idOrCode: string): Promise<MeasureRef> {
  const measure = await resolver.measure(await requireId(resolver, 'measure', idOrCode));
  if (!measure) {
    throw new DomainError('measure-not-found', `No measure is named ${idOrCode}`, {
      measure: idOrCode,
    });
  }
  return measure;
}
