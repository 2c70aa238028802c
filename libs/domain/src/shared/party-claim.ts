import { ensure } from './domain-error';
import {
  type DecisionContext,
  type DomainCommand,
  type DomainEvent,
  newEvent,
  nowOf,
  type Sourced,
} from './event';
import { toId } from './identifier';
import { type Instant, toInstant } from './instant';
import { ensurePartyCode, type PartyCode } from './party-code';
import { isText, type Source, toSources } from './source';

/**
 * One party's account of a fact, kept beside the other party's rather than picking one:
 * e.g. MOFCOM "removes the 10% fentanyl tariff" vs EO 14357 "reduces it from 20% to 10%".
 */
export interface PartyClaimRecordedData extends Sourced {
  claimId: string;
  party: PartyCode;
  statement: string;
  /** What the claim is about, e.g. `rate`, `effective date`, or the id of the event it disputes. */
  about?: string;
}

export type PartyClaimRecorded = DomainEvent<'PartyClaimRecorded', PartyClaimRecordedData>;

export type RecordPartyClaim = DomainCommand<
  'RecordPartyClaim',
  {
    claimId?: string;
    party: PartyCode;
    statement: string;
    about?: string;
    effectiveAt?: Instant;
    sources: Source[];
  }
>;

export interface PartyClaim extends PartyClaimRecordedData {
  eventId: string;
}

export function decidePartyClaim(
  command: RecordPartyClaim,
  context: DecisionContext,
): PartyClaimRecorded {
  const { party, statement, about } = command.data;
  ensurePartyCode(party, 'party');
  ensure(isText(statement), 'text-required', 'A claim needs a statement', { field: 'statement' });
  return newEvent<PartyClaimRecorded>(
    'PartyClaimRecorded',
    {
      claimId: toId(command.data.claimId ?? context.newId(), 'claimId'),
      party,
      statement,
      about,
      effectiveAt: toInstant(command.data.effectiveAt ?? nowOf(context), 'effectiveAt'),
      sources: toSources(command.data.sources),
    },
    context,
  );
}

export function claimFrom(event: PartyClaimRecorded): PartyClaim {
  return { ...event.data, eventId: event.metadata.eventId };
}
