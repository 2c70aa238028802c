import { ensure } from '../shared/domain-error';
import { type DecisionContext, newEvent, nowOf } from '../shared/event';
import { toId } from '../shared/identifier';
import { isAtOrBefore, isBefore, toInstant } from '../shared/instant';
import { toScope } from '../shared/scope';
import { isText, toSources } from '../shared/source';
import type { ExpireExclusion, ExtendExclusion, GrantExclusion } from './measure.commands';
import type { ExclusionExpired, ExclusionExtended, ExclusionGranted } from './measure.events';
import { ensureNotRevokedBy } from './measure.guards';
import { type Exclusion, findExclusion, type Measure } from './measure.state';

export type ExclusionCommand = GrantExclusion | ExtendExclusion | ExpireExclusion;
type ExclusionEvent = ExclusionGranted | ExclusionExtended | ExclusionExpired;

export function decideExclusionCommand(
  command: ExclusionCommand,
  measure: Measure,
  context: DecisionContext,
): ExclusionEvent {
  switch (command.type) {
    case 'GrantExclusion':
      return grant(command, measure, context);
    case 'ExtendExclusion':
      return extend(command, measure, context);
    case 'ExpireExclusion':
      return expire(command, measure, context);
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

function grant(
  command: GrantExclusion,
  measure: Measure,
  context: DecisionContext,
): ExclusionGranted {
  const { data } = command;
  const exclusionId = toId(data.exclusionId ?? context.newId(), 'exclusionId');
  ensure(
    !findExclusion(measure, exclusionId),
    'exclusion-already-exists',
    `Exclusion ${exclusionId} already exists`,
    {
      exclusionId,
    },
  );
  ensure(isText(data.description), 'text-required', 'An exclusion needs a description', {
    field: 'description',
  });
  const effectiveAt = toInstant(data.effectiveAt, 'effectiveAt');
  ensureNotRevokedBy(measure, effectiveAt, 'effectiveAt');
  const endsAt = data.endsAt === undefined ? undefined : toInstant(data.endsAt, 'endsAt');
  ensure(
    endsAt === undefined || isBefore(effectiveAt, endsAt),
    'exclusion-ends-before-start',
    'An exclusion must end after it is granted',
    { field: 'endsAt', effectiveAt, endsAt },
  );
  return newEvent<ExclusionGranted>(
    'ExclusionGranted',
    {
      exclusionId,
      description: data.description,
      hsCodes:
        data.hsCodes === undefined ? undefined : toScope({ hsCodes: data.hsCodes }, '').hsCodes,
      endsAt,
      effectiveAt,
      sources: toSources(data.sources),
    },
    context,
  );
}

function extend(
  command: ExtendExclusion,
  measure: Measure,
  context: DecisionContext,
): ExclusionExtended {
  const exclusion = openExclusion(measure, command.data.exclusionId);
  const endsAt = toInstant(command.data.endsAt, 'endsAt');
  ensure(
    exclusion.endsAt !== undefined && isBefore(exclusion.endsAt, endsAt),
    'extension-not-later',
    `An extension must move the end later than ${exclusion.endsAt ?? 'an open end'}`,
    { field: 'endsAt', endsAt, currentEndsAt: exclusion.endsAt },
  );
  return newEvent<ExclusionExtended>(
    'ExclusionExtended',
    {
      exclusionId: exclusion.id,
      endsAt,
      previousEndsAt: exclusion.endsAt,
      effectiveAt: toInstant(command.data.effectiveAt ?? nowOf(context), 'effectiveAt'),
      sources: toSources(command.data.sources),
    },
    context,
  );
}

function expire(
  command: ExpireExclusion,
  measure: Measure,
  context: DecisionContext,
): ExclusionExpired {
  const exclusion = openExclusion(measure, command.data.exclusionId);
  const endsAt = exclusion.endsAt;
  ensure(
    endsAt !== undefined && isAtOrBefore(endsAt, nowOf(context)),
    'exclusion-not-ended',
    `Exclusion ${exclusion.id} runs until ${endsAt ?? 'further notice'}`,
    { exclusionId: exclusion.id, endsAt },
  );
  return newEvent<ExclusionExpired>(
    'ExclusionExpired',
    {
      exclusionId: exclusion.id,
      effectiveAt: endsAt,
      sources: toSources(command.data.sources ?? exclusion.sources),
    },
    context,
  );
}

function openExclusion(measure: Measure, exclusionId: string): Exclusion {
  const exclusion = findExclusion(measure, exclusionId);
  ensure(exclusion, 'exclusion-not-found', `No exclusion ${exclusionId} on measure ${measure.id}`, {
    exclusionId,
  });
  ensure(
    exclusion.expiredAt === undefined,
    'exclusion-not-active',
    `Exclusion ${exclusionId} has expired`,
    {
      exclusionId,
    },
  );
  return exclusion;
}
