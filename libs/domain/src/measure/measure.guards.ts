import { ensure } from '../shared/domain-error';
import type { Measure, MeasureState } from './measure.state';

export function existingMeasure(state: MeasureState): Measure {
  ensure(state.measure, 'measure-not-found', 'No such measure');
  return state.measure;
}

export function ensureNotRevoked(measure: Measure): void {
  ensure(measure.revokedAt === undefined, 'measure-revoked', `Measure ${measure.id} is revoked`, {
    measureId: measure.id,
    revokedAt: measure.revokedAt,
  });
}
