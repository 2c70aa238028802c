import { DomainError, ensure } from './domain-error';
import { type Instant, isAtOrBefore, isBefore, toInstant } from './instant';
import { isText, pickDefined } from './source';

/** A step of a phased schedule: from this instant on, the rate is `percent`. */
export interface AdValoremStep {
  from: Instant;
  percent: number;
}

/** A step of a phased schedule: from this instant on, the rate is `amount`. */
export interface SpecificStep {
  from: Instant;
  amount: number;
}

export interface AdValoremRate {
  type: 'ad-valorem';
  percent: number;
  /** Later steps, in ascending order of `from`; before the first step `percent` applies. */
  schedule?: AdValoremStep[];
}

export interface SpecificRate {
  type: 'specific';
  amount: number;
  /** ISO 4217, e.g. `USD`, `CNY`. */
  currency: string;
  /** e.g. `net ton`, `container`. */
  unit: string;
  schedule?: SpecificStep[];
}

export type Rate = AdValoremRate | SpecificRate;

/** The part of an ad valorem rate a suspension covers ("24 of the 34 points"). */
export interface SuspendedPart {
  percentPoints: number;
}

export function toRate(value: unknown, field = 'rate'): Rate {
  ensure(
    typeof value === 'object' && value !== null,
    'invalid-rate',
    `${field} must be an object`,
    { field },
  );
  const rate = value as Record<string, unknown>;
  switch (rate.type) {
    case 'ad-valorem':
      return pickDefined<AdValoremRate>({
        type: 'ad-valorem',
        percent: toAmount(rate.percent, `${field}.percent`),
        schedule: toSchedule(rate.schedule, `${field}.schedule`, 'percent'),
      });
    case 'specific':
      ensure(
        typeof rate.currency === 'string' && /^[A-Z]{3}$/.test(rate.currency),
        'invalid-currency',
        `${field}.currency must be an ISO 4217 code such as USD`,
        { field: `${field}.currency`, value: rate.currency },
      );
      ensure(isText(rate.unit), 'invalid-rate', `${field}.unit must be a non-empty string`, {
        field: `${field}.unit`,
      });
      return pickDefined<SpecificRate>({
        type: 'specific',
        amount: toAmount(rate.amount, `${field}.amount`),
        currency: rate.currency,
        unit: rate.unit,
        schedule: toSchedule(rate.schedule, `${field}.schedule`, 'amount'),
      });
    default:
      throw new DomainError('invalid-rate', `${field}.type must be 'ad-valorem' or 'specific'`, {
        field: `${field}.type`,
      });
  }
}

function toAmount(value: unknown, field: string): number {
  ensure(
    typeof value === 'number' && Number.isFinite(value),
    'invalid-rate',
    `${field} must be a number`,
    {
      field,
      value,
    },
  );
  ensure(value >= 0, 'negative-rate', `${field} must not be negative`, { field, value });
  return value;
}

function toSchedule<K extends 'percent' | 'amount'>(
  value: unknown,
  field: string,
  key: K,
): Array<{ from: Instant } & Record<K, number>> | undefined {
  if (value === undefined) return undefined;
  ensure(Array.isArray(value), 'invalid-rate', `${field} must be an array`, { field });
  const steps = value.map((step: Record<string, unknown>, index) => {
    const at = `${field}[${index}]`;
    ensure(typeof step === 'object' && step !== null, 'invalid-rate', `${at} must be an object`, {
      field: at,
    });
    return {
      from: toInstant(step.from, `${at}.from`),
      [key]: toAmount(step[key], `${at}.${key}`),
    } as {
      from: Instant;
    } & Record<K, number>;
  });
  steps.forEach((step, index) => {
    const previous = steps[index - 1];
    ensure(
      previous === undefined || isBefore(previous.from, step.from),
      'invalid-rate',
      `${field} must be in strictly ascending order of from`,
      { field: `${field}[${index}].from` },
    );
  });
  return steps;
}

/** The rate that applies at an instant, with its phased schedule resolved. */
export function rateAt(rate: Rate, asOf: Instant): Rate {
  if (rate.type === 'ad-valorem') {
    const step = lastStepAt(rate.schedule, asOf);
    return { type: 'ad-valorem', percent: step?.percent ?? rate.percent };
  }
  const step = lastStepAt(rate.schedule, asOf);
  return {
    type: 'specific',
    amount: step?.amount ?? rate.amount,
    currency: rate.currency,
    unit: rate.unit,
  };
}

function lastStepAt<S extends { from: Instant }>(
  steps: S[] | undefined,
  asOf: Instant,
): S | undefined {
  return (steps ?? []).filter((step) => isAtOrBefore(step.from, asOf)).at(-1);
}

/** Percent arithmetic without binary-float noise (34 − 24.3 = 9.7, not 9.700000000000003). */
export function roundPoints(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
