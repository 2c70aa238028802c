import { ensure } from '../shared/domain-error';
import { type Instant, isBefore } from '../shared/instant';
import { type Rate, roundPoints, type SuspendedPart } from '../shared/rate';
import { fullRateAt, suspensionsInEffectAt } from './measure.status';
import type { Measure } from './measure.state';

export function toSuspendedPart(value: unknown): SuspendedPart {
  const points = (value as { percentPoints?: unknown } | null)?.percentPoints;
  ensure(
    typeof points === 'number' && Number.isFinite(points),
    'invalid-suspended-part',
    'part.percentPoints must be a number',
    { field: 'part.percentPoints' },
  );
  ensure(points >= 0, 'negative-rate', 'part.percentPoints must not be negative', {
    field: 'part.percentPoints',
  });
  ensure(
    points > 0,
    'invalid-suspended-part',
    'part.percentPoints must be more than zero (omit part to suspend the whole measure)',
    {
      field: 'part.percentPoints',
    },
  );
  return { percentPoints: points };
}

/**
 * A suspended part is taken from the ad valorem rate in force when the suspension starts: the
 * full rate then, less what other suspensions already hold. With the start unknown (a
 * conditional suspension), the latest full rate is the best available measure.
 */
export function ensurePartFits(
  measure: Measure,
  part: SuspendedPart,
  startsAt: Instant | undefined,
  suspensionId: string,
): void {
  const full = startsAt ? fullRateAt(measure, startsAt) : measure.rate;
  ensure(
    full?.type === 'ad-valorem',
    'suspended-part-not-applicable',
    'Only an ad valorem rate can be partly suspended; omit part to suspend the whole measure',
    { field: 'part' },
  );
  const held = startsAt ? pointsHeldAt(measure, startsAt, full.percent, suspensionId) : 0;
  const available = roundPoints(full.percent - held);
  ensure(
    part.percentPoints <= available,
    'suspended-part-exceeds-rate',
    `Cannot suspend ${part.percentPoints} points of a rate of which ${available}% is in force`,
    { field: 'part.percentPoints', percentPoints: part.percentPoints, rateInForce: available },
  );
}

function pointsHeldAt(measure: Measure, at: Instant, fullPercent: number, except: string): number {
  return suspensionsInEffectAt(measure, at, except).reduce(
    (total, s) => total + (s.part ? s.part.percentPoints : fullPercent),
    0,
  );
}

/** A rate amendment may not leave a pending or running suspension holding more than the rate. */
export function ensureRateCoversParts(measure: Measure, rate: Rate, from: Instant): void {
  const parts = measure.suspensions
    .filter((s) => s.state === 'scheduled' || s.state === 'active')
    .filter((s) => s.endsAt === undefined || isBefore(from, s.endsAt))
    .flatMap((s) => (s.part ? [s.part.percentPoints] : []));
  if (parts.length === 0) return;
  ensure(
    rate.type === 'ad-valorem',
    'suspended-part-not-applicable',
    'A partly suspended measure keeps an ad valorem rate',
    { field: 'rate' },
  );
  const largest = Math.max(...parts);
  const lowest = Math.min(rate.percent, ...(rate.schedule ?? []).map((step) => step.percent));
  ensure(
    largest <= lowest,
    'suspended-part-exceeds-rate',
    `A suspension holds ${largest} points; the rate cannot drop to ${lowest}%`,
    { field: 'rate', percentPoints: largest, rate: lowest },
  );
}
