import { ensure } from '../shared/domain-error';
import { type DecisionContext, type Decider, newEvent } from '../shared/event';
import { toCode, toId } from '../shared/identifier';
import { type Instant, isBefore, toInstant } from '../shared/instant';
import { decidePartyClaim } from '../shared/party-claim';
import { ensurePartyCode, ensurePartyCodes } from '../shared/party-code';
import { decideRetraction } from '../shared/retraction';
import { unique } from '../shared/scope';
import { isText, toSources } from '../shared/source';
import type {
  AgreementCommand,
  ChangeCommitmentStatus,
  ConcludeAgreement,
  ReaffirmAgreement,
  RecordCommitment,
} from './agreement.commands';
import {
  type AgreementConcluded,
  type AgreementEvent,
  type AgreementReaffirmed,
  COMMITMENT_KINDS,
  COMMITMENT_STATUSES,
  type CommitmentRecorded,
  type CommitmentStatusChanged,
} from './agreement.events';
import { evolveAgreement } from './agreement.evolve';
import { ensureNoReaffirmationCycle } from './agreement.reaffirmations';
import {
  type Agreement,
  type AgreementState,
  type Commitment,
  commitmentStatusAt,
  findCommitment,
  initialAgreementState,
} from './agreement.state';

export function decideAgreement(
  command: AgreementCommand,
  state: AgreementState,
  context: DecisionContext,
): AgreementEvent[] {
  switch (command.type) {
    case 'ConcludeAgreement':
      return [conclude(command, state, context)];
    case 'RecordCommitment':
      return [recordCommitment(command, existingAgreement(state), context)];
    case 'ChangeCommitmentStatus':
      return [changeStatus(command, existingAgreement(state), context)];
    case 'ReaffirmAgreement':
      return [reaffirm(command, existingAgreement(state), context)];
    case 'RecordPartyClaim':
      existingAgreement(state);
      return [decidePartyClaim(command, context)];
    case 'RetractEvent':
      return [decideRetraction(command, state.history, context)];
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

export const agreementDecider: Decider<AgreementCommand, AgreementEvent, AgreementState> = {
  decide: decideAgreement,
  evolve: evolveAgreement,
  initialState: initialAgreementState,
};

function existingAgreement(state: AgreementState): Agreement {
  ensure(state.agreement, 'agreement-not-found', 'No such agreement');
  return state.agreement;
}

function conclude(
  command: ConcludeAgreement,
  state: AgreementState,
  context: DecisionContext,
): AgreementConcluded {
  const { data } = command;
  ensure(
    state.agreement === null,
    'agreement-already-exists',
    'This agreement is already recorded',
  );
  ensure(isText(data.title), 'title-required', 'An agreement needs a title', { field: 'title' });
  ensure(Array.isArray(data.parties), 'agreement-parties-required', 'parties must be a list', {
    field: 'parties',
  });
  ensurePartyCodes(data.parties, 'parties');
  // Named twice is a mistake in the request, as a measure's target party is: not folded away.
  const twice = data.parties.findIndex((party, index) => data.parties.indexOf(party) !== index);
  ensure(
    twice === -1,
    'duplicate-agreement-party',
    `parties names ${data.parties[twice]} more than once`,
    {
      field: `parties[${twice}]`,
      value: data.parties[twice],
    },
  );
  ensure(
    data.parties.length >= 2,
    'agreement-parties-required',
    'An agreement is between at least two parties',
    {
      field: 'parties',
    },
  );
  ensureOptionalText(data.venue, 'venue');
  ensureOptionalText(data.summary, 'summary');
  return newEvent<AgreementConcluded>(
    'AgreementConcluded',
    {
      agreementId: toId(data.agreementId, 'agreementId'),
      code: data.code === undefined ? undefined : toCode(data.code),
      title: data.title,
      parties: [...data.parties],
      venue: data.venue,
      summary: data.summary,
      effectiveAt: toInstant(data.effectiveAt, 'effectiveAt'),
      sources: toSources(data.sources),
    },
    context,
  );
}

function recordCommitment(
  command: RecordCommitment,
  agreement: Agreement,
  context: DecisionContext,
): CommitmentRecorded {
  const { data } = command;
  const commitmentId = toId(data.commitmentId ?? context.newId(), 'commitmentId');
  ensure(
    !findCommitment(agreement, commitmentId),
    'commitment-already-exists',
    `Commitment ${commitmentId} already exists`,
    {
      commitmentId,
    },
  );
  ensurePartyCode(data.obligor, 'obligor');
  ensure(
    agreement.parties.includes(data.obligor),
    'obligor-not-party',
    `${data.obligor} is not a party to this agreement`,
    {
      field: 'obligor',
      parties: agreement.parties,
    },
  );
  ensure(
    COMMITMENT_KINDS.includes(data.kind),
    'invalid-commitment-kind',
    `kind must be one of ${COMMITMENT_KINDS.join(', ')}`,
    {
      field: 'kind',
      value: data.kind,
    },
  );
  ensure(isText(data.text), 'text-required', 'A commitment needs its text', { field: 'text' });
  ensureOptionalText(data.condition, 'condition');
  ensure(
    data.measures === undefined || Array.isArray(data.measures),
    'invalid-id',
    'measures must be a list of ids',
    {
      field: 'measures',
    },
  );
  const effectiveAt = toInstant(data.effectiveAt ?? agreement.concludedAt, 'effectiveAt');
  ensure(
    !isBefore(effectiveAt, agreement.concludedAt),
    'commitment-before-concluded',
    `A commitment of agreement ${agreement.id} cannot take effect (${effectiveAt}) before the agreement was concluded (${agreement.concludedAt})`,
    { field: 'effectiveAt', effectiveAt, concludedAt: agreement.concludedAt },
  );
  return newEvent<CommitmentRecorded>(
    'CommitmentRecorded',
    {
      commitmentId,
      obligor: data.obligor,
      kind: data.kind,
      text: data.text,
      measures:
        data.measures && unique(data.measures.map((id, index) => toId(id, `measures[${index}]`))),
      dueAt: data.dueAt === undefined ? undefined : toInstant(data.dueAt, 'dueAt'),
      condition: data.condition,
      effectiveAt,
      sources: toSources(data.sources),
    },
    context,
  );
}

function changeStatus(
  command: ChangeCommitmentStatus,
  agreement: Agreement,
  context: DecisionContext,
): CommitmentStatusChanged {
  const { data } = command;
  const commitment = findCommitment(agreement, data.commitmentId);
  ensure(
    commitment,
    'commitment-not-found',
    `No commitment ${data.commitmentId} in this agreement`,
    {
      commitmentId: data.commitmentId,
    },
  );
  ensure(
    COMMITMENT_STATUSES.includes(data.status),
    'invalid-commitment-status',
    `status must be one of ${COMMITMENT_STATUSES.join(', ')}`,
    { field: 'status', value: data.status },
  );
  const effectiveAt = toInstant(data.effectiveAt, 'effectiveAt');
  ensureCommitmentMadeBy(agreement, commitment, effectiveAt);
  // Changes may be recorded out of valid-time order: what counts is the status in force on the
  // date of this change, not the one recorded last.
  const previousStatus = commitmentStatusAt(commitment, effectiveAt);
  ensure(
    data.status !== previousStatus,
    'commitment-status-unchanged',
    `Commitment ${commitment.id} is already ${previousStatus} on ${effectiveAt}`,
    {
      commitmentId: commitment.id,
      // Not `status`: that member of a problem document is the HTTP status.
      statusInForce: previousStatus,
      effectiveAt,
    },
  );
  ensureOptionalText(data.note, 'note');
  return newEvent<CommitmentStatusChanged>(
    'CommitmentStatusChanged',
    {
      commitmentId: commitment.id,
      status: data.status,
      previousStatus,
      note: data.note,
      effectiveAt,
      sources: toSources(data.sources),
    },
    context,
  );
}

/** A commitment's status cannot change before the agreement (and the commitment) existed. */
function ensureCommitmentMadeBy(
  agreement: Agreement,
  commitment: Commitment,
  effectiveAt: Instant,
): void {
  const madeAt = isBefore(commitment.recordedAt, agreement.concludedAt)
    ? agreement.concludedAt
    : commitment.recordedAt;
  ensure(
    !isBefore(effectiveAt, madeAt),
    'commitment-status-before-concluded',
    `The status of commitment ${commitment.id} cannot change (${effectiveAt}) before the commitment was made (${madeAt}; the agreement was concluded ${agreement.concludedAt})`,
    {
      field: 'effectiveAt',
      effectiveAt,
      commitmentId: commitment.id,
      concludedAt: agreement.concludedAt,
      commitmentEffectiveAt: commitment.recordedAt,
    },
  );
}

function reaffirm(
  command: ReaffirmAgreement,
  agreement: Agreement,
  context: DecisionContext,
): AgreementReaffirmed {
  const reaffirmed = command.data.reaffirmed;
  ensure(reaffirmed, 'agreement-not-found', 'The reaffirmed agreement does not exist', {
    field: 'reaffirms',
  });
  ensure(
    reaffirmed.id !== agreement.id,
    'agreement-self-reaffirmation',
    'An agreement cannot reaffirm itself',
    {
      field: 'reaffirms',
    },
  );
  ensure(
    !agreement.reaffirms.includes(reaffirmed.id),
    'agreement-already-reaffirmed',
    `Agreement ${agreement.id} already reaffirms ${reaffirmed.id}`,
    { reaffirms: reaffirmed.id },
  );
  // The graph in the command was read without a lock: two crossing reaffirmations could both
  // pass here. The write side checks again inside the append's transaction (libs/trade).
  ensureNoReaffirmationCycle(agreement.id, reaffirmed.id, command.data.reaffirmations ?? {});
  const effectiveAt = toInstant(command.data.effectiveAt ?? agreement.concludedAt, 'effectiveAt');
  ensure(
    !isBefore(effectiveAt, agreement.concludedAt),
    'reaffirmed-before-concluded',
    `Agreement ${agreement.id} cannot reaffirm another (${effectiveAt}) before it was concluded (${agreement.concludedAt})`,
    { field: 'effectiveAt', effectiveAt, concludedAt: agreement.concludedAt },
  );
  return newEvent<AgreementReaffirmed>(
    'AgreementReaffirmed',
    {
      reaffirms: reaffirmed.id,
      effectiveAt,
      sources: toSources(command.data.sources),
    },
    context,
  );
}

function ensureOptionalText(value: unknown, field: string): void {
  ensure(
    value === undefined || isText(value),
    'text-required',
    `${field} must be a non-empty string`,
    { field },
  );
}
