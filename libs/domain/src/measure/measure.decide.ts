import { ensure } from '../shared/domain-error';
import { type DecisionContext, type Decider, decideAll, newEvent, nowOf } from '../shared/event';
import { toCode, toId } from '../shared/identifier';
import {
  DEFAULT_TIME_ZONE,
  type Instant,
  isBefore,
  toInstant,
  toTimeZone,
} from '../shared/instant';
import { decidePartyClaim } from '../shared/party-claim';
import { ensurePartyCode, ensurePartyCodes } from '../shared/party-code';
import { toRate } from '../shared/rate';
import { decideRetraction, liveEvents } from '../shared/retraction';
import { toScope, type Scope } from '../shared/scope';
import { isText, pickDefined, toSources } from '../shared/source';
import { decideExclusionCommand, type ExclusionCommand } from './exclusion.decide';
import type {
  AmendMeasure,
  AnnounceMeasure,
  ImplementMeasure,
  LinkCountermeasure,
  MeasureCommand,
  MeasureDefinitionInput,
  RecordMeasure,
  RevokeMeasure,
  ThreatenMeasure,
} from './measure.commands';
import {
  MEASURE_KINDS,
  type CountermeasureLinked,
  type MeasureAnnounced,
  type MeasureDefinition,
  type MeasureEvent,
  type MeasureImplemented,
  type MeasureRateAmended,
  type MeasureRevoked,
  type MeasureScopeAmended,
  type MeasureThreatened,
  type SuspensionScheduled,
} from './measure.events';
import { evolveMeasure } from './measure.evolve';
import {
  ensureAnnouncedAfterThreat,
  ensureEffectiveAfterEarlierStages,
  ensureNotRevokedBy,
  existingMeasure,
  measureExistsFrom,
} from './measure.guards';
import { type Measure, type MeasureState, initialMeasureState } from './measure.state';
import { ensureRateCoversParts } from './suspended-part';
import { decideSuspensionCommand, type SuspensionCommand } from './suspension.decide';

export function decideMeasure(
  command: MeasureCommand,
  state: MeasureState,
  context: DecisionContext,
): MeasureEvent[] {
  switch (command.type) {
    case 'ThreatenMeasure':
      return [threaten(command, state, context)];
    case 'AnnounceMeasure':
      return [announce(command, state, context)];
    case 'ImplementMeasure':
      return [implement(command, state, context)];
    case 'RecordMeasure':
      return record(command, state, context);
    case 'AmendMeasure':
      return amend(command, existingMeasure(state), context);
    case 'LinkCountermeasure':
      return [link(command, existingMeasure(state), context)];
    case 'RevokeMeasure':
      return [revoke(command, existingMeasure(state), context)];
    case 'RecordPartyClaim':
      existingMeasure(state);
      return [decidePartyClaim(command, context)];
    case 'RetractEvent': {
      // Not guarded by existence: retracting a wrongly retracted creation must stay possible.
      const retraction = decideRetraction(command, state.history, context);
      ensureNotAFixedStart(state, retraction.data.eventId);
      return [retraction];
    }
    case 'ScheduleSuspension':
    case 'StartSuspension':
    case 'ExtendSuspension':
    case 'LiftSuspension':
    case 'LapseSuspension':
      return decideSuspensionCommand(
        command satisfies SuspensionCommand,
        existingMeasure(state),
        state.history,
        context,
      );
    case 'GrantExclusion':
    case 'ExtendExclusion':
    case 'ExpireExclusion':
      return [
        decideExclusionCommand(command satisfies ExclusionCommand, existingMeasure(state), context),
      ];
    default: {
      const unreachable: never = command;
      return unreachable;
    }
  }
}

export const measureDecider: Decider<MeasureCommand, MeasureEvent, MeasureState> = {
  decide: decideMeasure,
  evolve: evolveMeasure,
  initialState: initialMeasureState,
};

function threaten(
  command: ThreatenMeasure,
  state: MeasureState,
  context: DecisionContext,
): MeasureThreatened {
  ensure(state.measure === null, 'measure-already-exists', 'This measure is already recorded');
  return newEvent<MeasureThreatened>(
    'MeasureThreatened',
    {
      measureId: toId(command.data.measureId, 'measureId'),
      measure: toDefinition(command.data.measure),
      effectiveAt: toInstant(command.data.effectiveAt, 'effectiveAt'),
      sources: toSources(command.data.sources),
    },
    context,
  );
}

function announce(
  command: AnnounceMeasure,
  state: MeasureState,
  context: DecisionContext,
): MeasureAnnounced {
  const measure = state.measure;
  const data = stageData(command, measure);
  if (measure) {
    ensureNotRevokedBy(measure, data.effectiveAt, 'effectiveAt');
    ensure(
      measure.announcedAt === undefined && measure.effectiveAt === undefined,
      'measure-already-announced',
      `Measure ${measure.id} is already announced`,
    );
  }
  ensureAnnouncedAfterThreat(data.effectiveAt, measure?.threatenedAt, 'effectiveAt');
  return newEvent<MeasureAnnounced>('MeasureAnnounced', data, context);
}

function implement(
  command: ImplementMeasure,
  state: MeasureState,
  context: DecisionContext,
): MeasureImplemented {
  const measure = state.measure;
  const data = stageData(command, measure);
  if (measure) {
    // A measure withdrawn before it took effect (US duties on Mexico, 2019) never takes effect.
    ensureNotRevokedBy(measure, data.effectiveAt, 'effectiveAt');
    ensure(
      measure.effectiveAt === undefined,
      'measure-already-implemented',
      `Measure ${measure.id} is already in force`,
    );
  }
  if (measure) ensureEffectiveAfterEarlierStages(data.effectiveAt, measure, 'effectiveAt');
  return newEvent<MeasureImplemented>('MeasureImplemented', data, context);
}

/** A new measure needs its terms; an existing one may restate them (a threat made concrete). */
function stageData(command: AnnounceMeasure | ImplementMeasure, existing: Measure | null) {
  const input = command.data.measure;
  ensure(existing || input, 'measure-definition-required', 'A new measure needs its definition', {
    field: 'measure',
  });
  return pickDefined({
    measureId: toId(command.data.measureId, 'measureId'),
    measure: input && toDefinition(input),
    effectiveAt: toInstant(command.data.effectiveAt, 'effectiveAt'),
    sources: toSources(command.data.sources),
  });
}

function record(
  command: RecordMeasure,
  state: MeasureState,
  context: DecisionContext,
): MeasureEvent[] {
  const {
    measureId,
    measure,
    threatenedAt,
    announcedAt,
    effectiveAt,
    respondsTo = [],
    sources,
  } = command.data;
  ensure(state.measure === null, 'measure-already-exists', 'This measure is already recorded');
  ensure(
    threatenedAt ?? announcedAt ?? effectiveAt,
    'measure-date-required',
    'A measure needs at least one of threatenedAt, announcedAt or effectiveAt',
    { field: 'effectiveAt' },
  );
  // Checked here too, so that the error names the field of this request that is out of order.
  const instant = (value: Instant | undefined, field: string) =>
    value === undefined ? undefined : toInstant(value, field);
  const threatened = instant(threatenedAt, 'threatenedAt');
  const announced = instant(announcedAt, 'announcedAt');
  const effective = instant(effectiveAt, 'effectiveAt');
  if (announced) ensureAnnouncedAfterThreat(announced, threatened, 'announcedAt');
  if (effective) {
    ensureEffectiveAfterEarlierStages(
      effective,
      { threatenedAt: threatened, announcedAt: announced },
      'effectiveAt',
    );
  }
  const stages: MeasureCommand[] = [];
  const withTerms = () => (stages.length === 0 ? { measure } : {});
  if (threatenedAt) {
    stages.push({
      type: 'ThreatenMeasure',
      data: { measureId, measure, effectiveAt: threatenedAt, sources },
    });
  }
  if (announcedAt) {
    stages.push({
      type: 'AnnounceMeasure',
      data: { measureId, ...withTerms(), effectiveAt: announcedAt, sources },
    });
  }
  if (effectiveAt) {
    stages.push({
      type: 'ImplementMeasure',
      data: { measureId, ...withTerms(), effectiveAt, sources },
    });
  }
  const links = respondsTo.map((answered): MeasureCommand => ({
    type: 'LinkCountermeasure',
    data: {
      respondsTo: answered,
      effectiveAt: announcedAt ?? effectiveAt ?? threatenedAt,
      sources,
    },
  }));
  return decideAll(measureDecider, [...stages, ...links], state, context).events;
}

function amend(command: AmendMeasure, measure: Measure, context: DecisionContext): MeasureEvent[] {
  const { rate, scope } = command.data;
  ensure(
    rate !== undefined || scope !== undefined,
    'amendment-empty',
    'An amendment changes the rate, the scope or both',
  );
  const effectiveAt = toInstant(command.data.effectiveAt, 'effectiveAt');
  ensureNotRevokedBy(measure, effectiveAt, 'effectiveAt');
  ensureAmendedOnceMeasureExists(measure, effectiveAt);
  const sources = toSources(command.data.sources);
  const events: MeasureEvent[] = [];
  if (rate !== undefined) {
    const amended = toRate(rate);
    ensureRateCoversParts(measure, amended, effectiveAt);
    events.push(
      newEvent<MeasureRateAmended>(
        'MeasureRateAmended',
        { rate: amended, effectiveAt, sources },
        context,
      ),
    );
  }
  if (scope !== undefined) {
    const amended = toScope(scope);
    ensureIncludesOthers(measure.imposingParty, amended, 'scope');
    events.push(
      newEvent<MeasureScopeAmended>(
        'MeasureScopeAmended',
        { scope: amended, effectiveAt, sources },
        context,
      ),
    );
  }
  return events;
}

function link(
  command: LinkCountermeasure,
  measure: Measure,
  context: DecisionContext,
): CountermeasureLinked {
  const answered = command.data.respondsTo;
  ensure(answered, 'measure-not-found', 'The answered measure does not exist', {
    field: 'respondsTo',
  });
  ensure(
    !measure.respondsTo.includes(answered.id),
    'countermeasure-already-linked',
    `Measure ${measure.id} is already linked to ${answered.id}`,
    { respondsTo: answered.id },
  );
  ensure(
    answered.id !== measure.id &&
      answered.targetParties.includes(measure.imposingParty) &&
      measure.targetParties.includes(answered.imposingParty),
    'countermeasure-party-mismatch',
    `A countermeasure by ${measure.imposingParty} must answer a measure that targets ${measure.imposingParty} and is imposed by one of its own targets`,
    {
      imposingParty: measure.imposingParty,
      targetParties: measure.targetParties,
      answered: {
        id: answered.id,
        imposingParty: answered.imposingParty,
        targetParties: answered.targetParties,
      },
    },
  );
  return newEvent<CountermeasureLinked>(
    'CountermeasureLinked',
    {
      respondsTo: answered.id,
      effectiveAt: toInstant(command.data.effectiveAt ?? nowOf(context), 'effectiveAt'),
      sources: toSources(command.data.sources),
    },
    context,
  );
}

function revoke(
  command: RevokeMeasure,
  measure: Measure,
  context: DecisionContext,
): MeasureRevoked {
  const effectiveAt = toInstant(command.data.effectiveAt, 'effectiveAt');
  // Revoked by then already: nothing to revoke. A revocation brought forward (dated before the
  // one on record) is taken, and the measure is revoked from the earlier date (see evolve); to
  // put a revocation off, retract it and record the later one.
  ensureNotRevokedBy(measure, effectiveAt, 'effectiveAt');
  ensureRevokedOnceMeasureExists(measure, effectiveAt);
  return newEvent<MeasureRevoked>(
    'MeasureRevoked',
    { effectiveAt, sources: toSources(command.data.sources) },
    context,
  );
}

/**
 * The start of a suspension scheduled with a fixed `startsAt` is part of its scheduling: the
 * SuspensionStarted beside it only restates it. Retracting that event alone would strike
 * "suspended" from the timeline while the scheduling still says when the suspension started,
 * and so the status would still show it in effect. To withdraw or correct such a start, the
 * scheduling is what is retracted (its start goes with it). A start that a trigger or an editor
 * gave a suspension scheduled without one can be retracted: the suspension waits again.
 */
function ensureNotAFixedStart(state: MeasureState, eventId: string): void {
  const live = liveEvents(state.history);
  const target = live.find((event) => event.metadata.eventId === eventId);
  if (target?.type !== 'SuspensionStarted') return;
  const { suspensionId } = target.data;
  const scheduling = live.find(
    (event): event is SuspensionScheduled =>
      event.type === 'SuspensionScheduled' && event.data.suspensionId === suspensionId,
  );
  ensure(
    scheduling?.data.startsAt === undefined,
    'fixed-start-not-retractable',
    `Event ${eventId} restates the fixed start of suspension ${suspensionId}, which its scheduling (event ${scheduling?.metadata.eventId}) sets; retract the scheduling to withdraw or correct the suspension`,
    {
      field: 'eventId',
      eventId,
      suspensionId,
      schedulingEventId: scheduling?.metadata.eventId,
    },
  );
}

/**
 * A revocation cannot precede the measure itself: its announcement (or its entry into force when
 * it was never announced, or its threat). It may precede the entry into force on record: a
 * measure withdrawn before it took effect (US duties on Mexico, 2019) is revoked from then on.
 */
function ensureRevokedOnceMeasureExists(measure: Measure, revokedAt: Instant): void {
  const since = measureExistsFrom(measure);
  ensure(
    since === undefined || !isBefore(revokedAt, since),
    'revoked-before-measure',
    `Measure ${measure.id} cannot be revoked (${revokedAt}) before it was announced or took effect (${since})`,
    { field: 'effectiveAt', effectiveAt: revokedAt, measureSince: since },
  );
}

/**
 * An amendment changes terms that exist, so, like a revocation, it cannot precede the measure:
 * its announcement (or its entry into force, or its threat, when that is its first date). It may
 * precede the entry into force: a rate raised between announcement and effect (April 2025).
 */
function ensureAmendedOnceMeasureExists(measure: Measure, amendedAt: Instant): void {
  const since = measureExistsFrom(measure);
  ensure(
    since === undefined || !isBefore(amendedAt, since),
    'amended-before-measure',
    `Measure ${measure.id} cannot be amended (${amendedAt}) before it was announced or took effect (${since})`,
    { field: 'effectiveAt', effectiveAt: amendedAt, measureSince: since },
  );
}

export function toDefinition(input: MeasureDefinitionInput | undefined): MeasureDefinition {
  ensure(input, 'measure-definition-required', 'A new measure needs its definition', {
    field: 'measure',
  });
  ensure(isText(input.title), 'title-required', 'A measure needs a title', {
    field: 'measure.title',
  });
  ensure(
    MEASURE_KINDS.includes(input.kind),
    'invalid-measure-kind',
    `kind must be one of ${MEASURE_KINDS.join(', ')}`,
    {
      field: 'measure.kind',
      value: input.kind,
    },
  );
  ensurePartyCode(input.imposingParty, 'measure.imposingParty');
  ensure(
    Array.isArray(input.targetParties) && input.targetParties.length > 0,
    'target-party-required',
    'A measure targets at least one party',
    { field: 'measure.targetParties' },
  );
  ensurePartyCodes(input.targetParties, 'measure.targetParties');
  ensureTargetsOthersOnce(input.imposingParty, input.targetParties);
  for (const field of ['legalBasis', 'instrument', 'summary'] as const) {
    const value = input[field];
    ensure(
      value === undefined || isText(value),
      'text-required',
      `measure.${field} must be a non-empty string`,
      {
        field: `measure.${field}`,
      },
    );
  }
  const rate = input.rate === undefined ? undefined : toRate(input.rate, 'measure.rate');
  return pickDefined({
    code: input.code === undefined ? undefined : toCode(input.code, 'measure.code'),
    title: input.title,
    kind: input.kind,
    imposingParty: input.imposingParty,
    targetParties: [...input.targetParties],
    legalBasis: input.legalBasis,
    instrument: input.instrument,
    summary: input.summary,
    rate,
    scope: scopeOf(input),
    timeZone: toTimeZone(input.timeZone ?? DEFAULT_TIME_ZONE, 'measure.timeZone'),
  });
}

function scopeOf(input: MeasureDefinitionInput): Scope | undefined {
  if (input.scope === undefined) return undefined;
  const scope = toScope(input.scope, 'measure.scope');
  ensureIncludesOthers(input.imposingParty, scope, 'measure.scope');
  return scope;
}

/**
 * A scope's territories are covered besides the targets, and like them are another party's:
 * a measure does not reach its own imposer's goods (as `measure-targets-itself` says of targets).
 */
function ensureIncludesOthers(imposingParty: string, scope: Scope, field: string): void {
  const self = scope.inclusions?.indexOf(imposingParty) ?? -1;
  ensure(
    self === -1,
    'measure-targets-itself',
    `A measure imposed by ${imposingParty} cannot cover ${imposingParty} itself`,
    { field: `${field}.inclusions[${self}]`, imposingParty },
  );
}

/** A measure is imposed by one party on others, each named once. */
function ensureTargetsOthersOnce(imposingParty: string, targetParties: readonly string[]): void {
  const self = targetParties.indexOf(imposingParty);
  ensure(
    self === -1,
    'measure-targets-itself',
    `A measure imposed by ${imposingParty} cannot target ${imposingParty} itself`,
    { field: `measure.targetParties[${self}]`, imposingParty },
  );
  const twice = targetParties.findIndex((party, index) => targetParties.indexOf(party) !== index);
  ensure(
    twice === -1,
    'duplicate-target-party',
    `measure.targetParties names ${targetParties[twice]} more than once`,
    { field: `measure.targetParties[${twice}]`, value: targetParties[twice] },
  );
}
