import { ensure } from '../shared/domain-error';
import { type Instant, isBefore } from '../shared/instant';
import type { Measure, MeasureState } from './measure.state';

export function existingMeasure(state: MeasureState): Measure {
  ensure(state.measure, 'measure-not-found', 'No such measure');
  return state.measure;
}

/**
 * A revocation ends the measure from its date: a fact that would take effect then or later
 * finds nothing to act on and is refused (`measure-revoked`, with the revocation's date). A
 * fact that takes effect before it belongs to the measure's life and is taken, whether the
 * revocation lies ahead (announced in advance: the measure is in force until then) or the fact
 * is a late record of something that happened before it. `effectiveAt` is the instant the new
 * fact takes effect (a suspension's start, a stage's or an amendment's date), `field` the
 * request field that gave it.
 */
export function ensureNotRevokedBy(measure: Measure, effectiveAt: Instant, field: string): void {
  const { revokedAt } = measure;
  ensure(
    revokedAt === undefined || isBefore(effectiveAt, revokedAt),
    'measure-revoked',
    `Measure ${measure.id} is revoked (from ${revokedAt}): nothing can take effect then or later (${field} ${effectiveAt})`,
    { measureId: measure.id, revokedAt, field, effectiveAt },
  );
}

/**
 * From when the measure exists as a decision that can be acted on: its announcement, or its
 * entry into force when it was never announced (the earlier of the two, should a stream hold
 * both in the wrong order from before the order was checked); a bare threat otherwise.
 */
export function measureExistsFrom(measure: Measure): Instant | undefined {
  const { announcedAt, effectiveAt } = measure;
  if (announcedAt !== undefined && effectiveAt !== undefined) {
    return isBefore(effectiveAt, announcedAt) ? effectiveAt : announcedAt;
  }
  return announcedAt ?? effectiveAt ?? measure.threatenedAt;
}

// A measure is threatened, then announced, then in force; each at or after the one before (the
// same instant is fine: many measures are announced with immediate effect).

/** An announcement cannot come before the threat it carries out. */
export function ensureAnnouncedAfterThreat(
  announcedAt: Instant,
  threatenedAt: Instant | undefined,
  field: string,
): void {
  ensure(
    threatenedAt === undefined || !isBefore(announcedAt, threatenedAt),
    'announced-before-threatened',
    `A measure cannot be announced (${announcedAt}) before it was threatened (${threatenedAt})`,
    { field, announcedAt, threatenedAt },
  );
}

/** Entry into force cannot come before the announcement, nor before the threat. */
export function ensureEffectiveAfterEarlierStages(
  effectiveAt: Instant,
  earlier: { threatenedAt?: Instant; announcedAt?: Instant },
  field: string,
): void {
  const { threatenedAt, announcedAt } = earlier;
  ensure(
    announcedAt === undefined || !isBefore(effectiveAt, announcedAt),
    'effective-before-announced',
    `A measure cannot take effect (${effectiveAt}) before it was announced (${announcedAt})`,
    { field, effectiveAt, announcedAt },
  );
  ensure(
    threatenedAt === undefined || !isBefore(effectiveAt, threatenedAt),
    'effective-before-threatened',
    `A measure cannot take effect (${effectiveAt}) before it was threatened (${threatenedAt})`,
    { field, effectiveAt, threatenedAt },
  );
}
