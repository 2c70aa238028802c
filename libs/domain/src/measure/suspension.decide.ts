import { ensure } from '../shared/domain-error';
import { type DecisionContext, newEvent, nowOf } from '../shared/event';
import { toId } from '../shared/identifier';
import {
  addDurations,
  type Instant,
  isAtOrBefore,
  isBefore,
  plusDuration,
  toInstant,
  toIsoDuration,
  toMillis,
} from '../shared/instant';
import { type EventRetracted, liveEvents } from '../shared/retraction';
import { type Source, toSources } from '../shared/source';
import type {
  ExtendSuspension,
  LapseSuspension,
  LiftSuspension,
  ScheduleSuspension,
  StartSuspension,
} from './measure.commands';
import type {
  MeasureEvent,
  SuspensionExtended,
  SuspensionLapsed,
  SuspensionLifted,
  SuspensionScheduled,
  SuspensionStarted,
  SuspensionTrigger,
} from './measure.events';
import { ensureNotRevokedBy, measureExistsFrom } from './measure.guards';
import { findSuspension, type Measure, type Suspension } from './measure.state';
import { isEndRevoked } from './measure.status';
import { ensurePartFits, toSuspendedPart } from './suspended-part';

export type SuspensionCommand =
  ScheduleSuspension | StartSuspension | ExtendSuspension | LiftSuspension | LapseSuspension;

export function decideSuspensionCommand(
  command: SuspensionCommand,
  measure: Measure,
  history: readonly MeasureEvent[],
  context: DecisionContext,
): MeasureEvent[] {
  switch (command.type) {
    case 'ScheduleSuspension':
      return schedule(command, measure, context);
    case 'StartSuspension':
      return [start(command, measure, context)];
    case 'ExtendSuspension':
      return extend(command, measure, history, context);
    case 'LiftSuspension':
      return [lift(command, measure, context)];
    case 'LapseSuspension':
      return [lapse(command, measure, context)];
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

function schedule(
  command: ScheduleSuspension,
  measure: Measure,
  context: DecisionContext,
): MeasureEvent[] {
  const { data } = command;
  const suspensionId = toId(data.suspensionId ?? context.newId(), 'suspensionId');
  ensure(
    !findSuspension(measure, suspensionId),
    'suspension-already-exists',
    `Suspension ${suspensionId} already exists`,
    {
      suspensionId,
    },
  );
  ensure(
    (data.startsAt === undefined) !== (data.startsWhen === undefined),
    'invalid-suspension-start',
    'A suspension starts either at startsAt or when startsWhen takes effect',
    { field: 'startsAt' },
  );
  ensure(
    (data.endsAt === undefined) !== (data.duration === undefined),
    'invalid-suspension-end',
    'A suspension ends either at endsAt or after duration',
    { field: 'endsAt' },
  );
  const startsAt = data.startsAt === undefined ? undefined : toInstant(data.startsAt, 'startsAt');
  const resolved = data.startsWhen && resolveTrigger(measure, data.startsWhen, data.triggerMeasure);
  const startsWhen = resolved?.trigger;
  // A trigger that has already taken effect starts this suspension too.
  const triggeredAt =
    resolved?.suspension.startsAt && startOnTrigger(measure, resolved.suspension.startsAt);
  const duration =
    data.duration === undefined ? undefined : toIsoDuration(data.duration, 'duration');
  const endsAt = data.endsAt === undefined ? undefined : toInstant(data.endsAt, 'endsAt');
  const scheduledEnd =
    endsAt ?? (startsAt && duration && plusDuration(startsAt, duration, measure.timeZone));
  const start = startsAt ?? triggeredAt;
  const effectiveAt = toInstant(data.effectiveAt ?? startsAt ?? nowOf(context), 'effectiveAt');
  ensureDecidedBeforeRevocation(measure, start, startsAt ? 'startsAt' : 'startsWhen', effectiveAt);
  if (startsAt) ensureStartsOnceMeasureExists(measure, startsAt, 'startsAt');
  const end = endsAt ?? (start && duration && plusDuration(start, duration, measure.timeZone));
  if (start && end) ensureEndsAfterStart(start, end);
  const part = data.part === undefined ? undefined : toSuspendedPart(data.part);
  if (part) ensurePartFits(measure, part, start, suspensionId);
  ensure(
    data.reinstatesAutomatically === undefined || typeof data.reinstatesAutomatically === 'boolean',
    'invalid-suspension-end',
    'reinstatesAutomatically must be true or false',
    { field: 'reinstatesAutomatically' },
  );
  const sources = toSources(data.sources);
  const scheduled = newEvent<SuspensionScheduled>(
    'SuspensionScheduled',
    {
      suspensionId,
      startsAt,
      startsWhen,
      endsAt: scheduledEnd,
      duration,
      part,
      agreement: data.agreement === undefined ? undefined : toId(data.agreement, 'agreement'),
      reinstatesAutomatically: data.reinstatesAutomatically ?? true,
      effectiveAt,
      sources,
    },
    context,
  );
  if (!start) return [scheduled];
  return [scheduled, started(suspensionId, start, end, sources, context)];
}

function start(
  command: StartSuspension,
  measure: Measure,
  context: DecisionContext,
): SuspensionStarted {
  const suspension = existingSuspension(measure, command.data.suspensionId);
  ensureOpen(suspension);
  ensure(
    suspension.state === 'scheduled',
    'suspension-already-started',
    `Suspension ${suspension.id} has already started`,
    {
      suspensionId: suspension.id,
      startsAt: suspension.startsAt,
    },
  );
  const startsAt = startOnTrigger(measure, toInstant(command.data.startsAt, 'startsAt'));
  // A trigger that starts once this measure is revoked starts nothing here: the suspension
  // keeps waiting (ConditionalSuspensionStarter logs the refusal and moves on).
  ensureNotRevokedBy(measure, startsAt, 'startsAt');
  const endsAt =
    suspension.endsAt ??
    (suspension.duration && plusDuration(startsAt, suspension.duration, measure.timeZone));
  if (endsAt) ensureEndsAfterStart(startsAt, endsAt);
  if (suspension.part) ensurePartFits(measure, suspension.part, startsAt, suspension.id);
  return started(suspension.id, startsAt, endsAt, toSources(command.data.sources), context);
}

function started(
  suspensionId: string,
  startsAt: Instant,
  endsAt: Instant | undefined,
  sources: Source[],
  context: DecisionContext,
): SuspensionStarted {
  return newEvent<SuspensionStarted>(
    'SuspensionStarted',
    { suspensionId, startsAt, endsAt, effectiveAt: startsAt, sources },
    context,
  );
}

function extend(
  command: ExtendSuspension,
  measure: Measure,
  history: readonly MeasureEvent[],
  context: DecisionContext,
): MeasureEvent[] {
  const { data } = command;
  const suspension = existingSuspension(measure, data.suspensionId);
  const effectiveAt = toInstant(data.effectiveAt ?? nowOf(context), 'effectiveAt');
  // In force before the revocation: taken, even with an end past it (the revocation ends the
  // measure, and the suspension with it, when it comes).
  ensureNotRevokedBy(measure, effectiveAt, 'effectiveAt');
  ensureNotBeforeSuspension(suspension, effectiveAt, context, 'extended-before-start', 'extended');
  ensureNotEndedBy(suspension, effectiveAt);
  ensure(
    (data.endsAt === undefined) !== (data.duration === undefined),
    'invalid-suspension-end',
    'An extension gives either the new endsAt or a duration to add',
    { field: 'endsAt' },
  );
  const extendedBy =
    data.duration === undefined ? undefined : toIsoDuration(data.duration, 'duration');
  const sources = toSources(data.sources);
  const end = newEnd(suspension, data.endsAt, extendedBy, measure);
  ensureEndsAfterTakingEffect(suspension, end.endsAt, effectiveAt);
  const extended = newEvent<SuspensionExtended>(
    'SuspensionExtended',
    {
      suspensionId: suspension.id,
      ...end,
      extendedBy,
      previousEndsAt: suspension.endsAt,
      agreement: data.agreement === undefined ? undefined : toId(data.agreement, 'agreement'),
      effectiveAt,
      sources,
    },
    context,
  );
  // Only a lapse the extension pre-dates was wrong; one before a later continuation stands.
  const lapse =
    suspension.state === 'lapsed' &&
    suspension.lapsedAt !== undefined &&
    isAtOrBefore(effectiveAt, suspension.lapsedAt)
      ? liveLapseOf(suspension, history)
      : undefined;
  if (!lapse) return [extended];
  // The lapse said "the end passed with no extension on file"; this extension, in force by the
  // end, proves it wrong. Retracted in the same append, so that every view (timeline, alerts,
  // webhooks) drops it the way it drops any retracted fact, and no moment exists where the
  // suspension stands revived with its lapse still on record, or the reverse.
  const retraction = newEvent<EventRetracted>(
    'EventRetracted',
    {
      eventId: lapse.metadata.eventId,
      reason: `An extension in force from ${effectiveAt}, by the end (${suspension.lapsedAt}), was recorded after this lapse: the suspension did not lapse then`,
      effectiveAt: nowOf(context),
      sources,
    },
    context,
  );
  return [retraction, extended];
}

function liveLapseOf(
  suspension: Suspension,
  history: readonly MeasureEvent[],
): SuspensionLapsed | undefined {
  return liveEvents(history).findLast(
    (event): event is SuspensionLapsed =>
      event.type === 'SuspensionLapsed' && event.data.suspensionId === suspension.id,
  );
}

/** The end after an extension; while the start is unknown only a duration can be added. */
function newEnd(
  suspension: Suspension,
  requestedEnd: Instant | undefined,
  extendedBy: string | undefined,
  measure: Measure,
): { endsAt?: Instant; duration?: string } {
  const current = suspension.endsAt;
  if (current === undefined) {
    ensure(
      extendedBy !== undefined && suspension.duration !== undefined,
      'suspension-end-unresolved',
      `Suspension ${suspension.id} has not started, so its end is not known yet; extend it by a duration`,
      { suspensionId: suspension.id },
    );
    return { duration: addDurations(suspension.duration, extendedBy) };
  }
  const endsAt =
    requestedEnd !== undefined
      ? toInstant(requestedEnd, 'endsAt')
      : plusDuration(current, extendedBy as string, measure.timeZone);
  ensure(
    isBefore(current, endsAt),
    'extension-not-later',
    `An extension must move the end later than ${current}`,
    {
      field: 'endsAt',
      endsAt,
      currentEndsAt: current,
    },
  );
  return { endsAt };
}

function lift(
  command: LiftSuspension,
  measure: Measure,
  context: DecisionContext,
): SuspensionLifted {
  const suspension = existingSuspension(measure, command.data.suspensionId);
  ensureOpen(suspension);
  const effectiveAt = toInstant(command.data.effectiveAt, 'effectiveAt');
  ensureNotBeforeSuspension(suspension, effectiveAt, context, 'lifted-before-start', 'lifted');
  ensure(
    suspension.endsAt === undefined || isBefore(effectiveAt, suspension.endsAt),
    'suspension-not-active',
    `Suspension ${suspension.id} has already ended by ${effectiveAt}`,
    { suspensionId: suspension.id, endsAt: suspension.endsAt },
  );
  return newEvent<SuspensionLifted>(
    'SuspensionLifted',
    { suspensionId: suspension.id, effectiveAt, sources: toSources(command.data.sources) },
    context,
  );
}

function lapse(
  command: LapseSuspension,
  measure: Measure,
  context: DecisionContext,
): SuspensionLapsed {
  const suspension = existingSuspension(measure, command.data.suspensionId);
  ensure(
    suspension.state === 'active',
    'suspension-not-active',
    `Suspension ${suspension.id} is ${suspension.state}`,
    {
      suspensionId: suspension.id,
      state: suspension.state,
    },
  );
  const endsAt = suspension.endsAt;
  const expected = command.data.endsAt;
  ensure(
    expected === undefined || (endsAt !== undefined && toMillis(expected) === toMillis(endsAt)),
    'suspension-end-moved',
    `Suspension ${suspension.id} ends at ${endsAt ?? 'an unknown end'} now, not ${expected}`,
    { suspensionId: suspension.id, endsAt, expected },
  );
  ensure(
    endsAt !== undefined && isAtOrBefore(endsAt, nowOf(context)),
    'suspension-not-ended',
    `Suspension ${suspension.id} runs until ${endsAt ?? 'an unknown end'}`,
    { suspensionId: suspension.id, endsAt },
  );
  // Revoked by its end: no measure is left to lapse back into force (the alerts of that end are
  // cancelled; one fired before the schedule saw the revocation must not record a lapse).
  ensure(
    !isEndRevoked(measure.revokedAt, endsAt),
    'measure-revoked',
    `Measure ${measure.id} is revoked (from ${measure.revokedAt}) by the end of suspension ${suspension.id} (${endsAt})`,
    { measureId: measure.id, revokedAt: measure.revokedAt, suspensionId: suspension.id, endsAt },
  );
  // The documents that set the end are the authority for the lapse.
  const sources =
    command.data.sources ?? suspension.extensions.at(-1)?.sources ?? suspension.sources;
  return newEvent<SuspensionLapsed>(
    'SuspensionLapsed',
    { suspensionId: suspension.id, effectiveAt: endsAt, sources: toSources(sources) },
    context,
  );
}

/**
 * A suspension is judged by its start, when that is known: a fixed `startsAt`, or the start of
 * a trigger that has already taken effect (`startsWhen`). One that starts before the revocation
 * is taken, even if it would end after it: the revocation ends it with the measure, and the
 * status reads `revoked` from then on.
 *
 * A conditional suspension whose trigger has not started has no start yet. It is judged by its
 * decision (`effectiveAt`, now when omitted): decided before the revocation, it is a fact of the
 * measure's life (a late record, or a revocation still ahead) and is taken, its start checked
 * when the trigger gives one (`StartSuspension` refuses a start from the revocation on, and the
 * suspension waits for good); decided once the measure is revoked, it suspends nothing.
 * Refusing it whenever a revocation is on record would bring back the freeze this rule lifts;
 * taking it always would record, after the measure was gone, a suspension that can only wait.
 */
function ensureDecidedBeforeRevocation(
  measure: Measure,
  start: Instant | undefined,
  startField: 'startsAt' | 'startsWhen',
  decidedAt: Instant,
): void {
  if (start !== undefined) ensureNotRevokedBy(measure, start, startField);
  else ensureNotRevokedBy(measure, decidedAt, 'effectiveAt');
}

function existingSuspension(measure: Measure, suspensionId: string): Suspension {
  const suspension = findSuspension(measure, suspensionId);
  ensure(
    suspension,
    'suspension-not-found',
    `No suspension ${suspensionId} on measure ${measure.id}`,
    {
      suspensionId,
    },
  );
  return suspension;
}

/**
 * An extension of a lifted suspension takes effect at the latest at the lifting: the lifting
 * was a decision to end it, and suspending again later is a new suspension. One in force by
 * then but recorded after it is a late record of a timely decision and is taken (the lifting
 * still ends the suspension when it did).
 *
 * A suspension that ended because its time ran out can be continued from a later date, whether
 * or not the worker has recorded the lapse yet (so the answer does not depend on the worker's
 * timing): the status shows the gap, and a recorded lapse stands. China's continuation of
 * 5 November 2025 (the bundled dataset) is such a case, and a dataset key, once imported,
 * names its fact for good. Only an extension in force by the end retracts a recorded lapse.
 */
function ensureNotEndedBy(suspension: Suspension, effectiveAt: Instant): void {
  const endedAt = suspension.state === 'lifted' ? suspension.liftedAt : undefined;
  ensure(
    endedAt === undefined || isAtOrBefore(effectiveAt, endedAt),
    'suspension-already-ended',
    `Suspension ${suspension.id} was lifted at ${endedAt}, before this extension took effect (${effectiveAt}): record a new suspension, or, if the extension was decided by the lifting, give that date as effectiveAt`,
    {
      field: 'effectiveAt',
      effectiveAt,
      suspensionId: suspension.id,
      state: suspension.state,
      endedAt,
    },
  );
}

/**
 * An extension whose new end is not after the moment it takes effect extends nothing: a
 * suspension that lapsed, extended with no `effectiveAt` (now) by a duration counted from its
 * old end, would end before the extension was made, and lapse a second time, for a period never
 * in force. Dated when it was decided, the same extension is a continuation.
 */
function ensureEndsAfterTakingEffect(
  suspension: Suspension,
  endsAt: Instant | undefined,
  effectiveAt: Instant,
): void {
  ensure(
    endsAt === undefined || isBefore(effectiveAt, endsAt),
    'extension-ends-before-effective',
    `The new end of suspension ${suspension.id} (${endsAt}) is not after the extension takes effect (${effectiveAt}): it would extend nothing. Give the date the extension was decided as effectiveAt, or a later end`,
    { field: 'effectiveAt', effectiveAt, endsAt, suspensionId: suspension.id },
  );
}

function ensureOpen(suspension: Suspension): void {
  ensure(
    suspension.state === 'scheduled' || suspension.state === 'active',
    'suspension-not-active',
    `Suspension ${suspension.id} is ${suspension.state}`,
    { suspensionId: suspension.id, state: suspension.state },
  );
}

/**
 * A suspension may start before the measure takes effect: MOFCOM Ann. No. 70 of 2025 suspended
 * from 7 November the export controls announced on 9 October that were to apply from 8 November.
 * But not before the measure was even announced: there was nothing to suspend yet.
 */
function ensureStartsOnceMeasureExists(measure: Measure, startsAt: Instant, field: string): void {
  const since = measureExistsFrom(measure);
  ensure(
    since === undefined || !isBefore(startsAt, since),
    'suspension-starts-before-measure',
    `A suspension of measure ${measure.id} cannot start (${startsAt}) before the measure was announced or took effect (${since})`,
    { field, startsAt, measureSince: since },
  );
}

/**
 * How far before now an extension or a lifting of a suspension decided for the future may be
 * dated and still count as decided now (a client's own "now", already past on arrival).
 */
const DECIDED_NOW_MS = 5 * 60_000;

/**
 * An extension or a lifting acts on a suspension that exists: it cannot take effect before the
 * suspension was decided (its scheduling's effectiveAt) or, when that is later, started. One
 * decided ahead of its start may be extended or called off before it starts, and so may any
 * suspension from now on; a date set back is checked against the decision, or against the start
 * for one recorded with only its start (the decision then defaults to it). A conditional
 * suspension not started yet is not checked: its decision date defaults to when it was
 * recorded, not to a legal date.
 */

function ensureNotBeforeSuspension(
  suspension: Suspension,
  effectiveAt: Instant,
  context: DecisionContext,
  code: 'extended-before-start' | 'lifted-before-start',
  verb: string,
): void {
  const { startsAt, scheduledAt } = suspension;
  if (startsAt === undefined) return;
  const since = isBefore(scheduledAt, startsAt) ? scheduledAt : startsAt;
  // Decided now (or later): a suspension recorded with only its start, whose decision date then
  // defaults to that start, may still be extended or called off before it starts. Only a date
  // set back before the suspension existed contradicts it. "Now" as a client sends it is
  // already past when it arrives, so a date moments before now counts as now.
  const now = toMillis(toInstant(nowOf(context), 'now'));
  const bound = now < toMillis(since) ? now - DECIDED_NOW_MS : toMillis(since);
  ensure(
    toMillis(effectiveAt) >= bound,
    code,
    `Suspension ${suspension.id} cannot be ${verb} (${effectiveAt}) before it was decided or started (${since})`,
    { field: 'effectiveAt', effectiveAt, suspensionId: suspension.id, startsAt, scheduledAt },
  );
}

/**
 * When a trigger took effect before this measure was announced (its start recorded late, or
 * set back), the condition was already met once there was something to suspend: the
 * suspension starts with the measure, not before it (`ensureStartsOnceMeasureExists`). The
 * same whether the trigger is found started at scheduling time or its start comes later.
 */
function startOnTrigger(measure: Measure, triggeredAt: Instant): Instant {
  const since = measureExistsFrom(measure);
  return since !== undefined && isBefore(triggeredAt, since) ? since : triggeredAt;
}

function ensureEndsAfterStart(startsAt: Instant, endsAt: Instant): void {
  ensure(
    isBefore(startsAt, endsAt),
    'suspension-ends-before-start',
    `A suspension must end after it starts (${startsAt})`,
    {
      field: 'endsAt',
      startsAt,
      endsAt,
    },
  );
}

/**
 * Resolves "when suspension S of measure M takes effect" to M's id (a code is accepted) and S.
 * M is this measure or the one the handler loaded into the command.
 */
function resolveTrigger(
  measure: Measure,
  value: SuspensionTrigger,
  triggerMeasure: Measure | null | undefined,
): { trigger: SuspensionTrigger; suspension: Suspension } {
  const ref = toId(value.measure, 'startsWhen.measure');
  const suspensionId = toId(value.suspension, 'startsWhen.suspension');
  const owner = [measure, triggerMeasure].find((m) => m && (m.id === ref || m.code === ref));
  ensure(owner, 'measure-not-found', `No measure ${ref} to wait for`, {
    field: 'startsWhen.measure',
  });
  const suspension = findSuspension(owner, suspensionId);
  ensure(suspension, 'suspension-not-found', `No suspension ${suspensionId} on measure ${ref}`, {
    field: 'startsWhen.suspension',
  });
  return { trigger: { measure: owner.id, suspension: suspensionId }, suspension };
}
