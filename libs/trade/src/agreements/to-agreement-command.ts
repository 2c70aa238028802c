import type { AgreementCommand } from '@app/domain';
import { requireRecorded, type ActionResolver } from '../write/action-resolver';
import type { AgreementAction } from './execute-agreement-action.command';
import { gatherReaffirmations } from './reaffirmation-cycles';

/**
 * The agreement decider's command for an action on `agreementId`: codes resolved to ids, and
 * for a reaffirmation the reaffirmed agreement and the reaffirmation graph reachable from it
 * loaded (the decider refuses a cycle on it). Reads through `resolver` only.
 */
export async function toAgreementCommand(
  agreementId: string,
  action: AgreementAction,
  resolver: ActionResolver,
): Promise<AgreementCommand> {
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
            measures &&
            (await Promise.all(
              measures.map((m, i) => requireRecorded(resolver, 'measure', m, `measures.${i}`)),
            )),
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
      // An unknown agreement is the decider's to refuse (it says which field is wrong).
      const earlierId = await resolver.resolve('agreement', reaffirms);
      const earlier = earlierId === null ? null : await resolver.agreement(earlierId);
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
                  async (id) => (await resolver.agreement(id))?.reaffirms ?? [],
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
