import { isUuid, type Agreement, type Measure } from '@app/domain';
import type { CodedKind } from '../codes/stream-code-index';
import type { ActionResolver } from '../write/action-resolver';

/** Recorded measures and agreements, by id, each with the code that names it. */
export interface Recorded {
  measures?: Measure[];
  agreements?: Agreement[];
}

/**
 * An `ActionResolver` over what a test records, in memory; `loads` lists every aggregate read.
 * Names as the stored code index does: a UUID names itself, recorded or not.
 */
export function inMemoryActionResolver(recorded: Recorded): ActionResolver & { loads: string[] } {
  const loads: string[] = [];
  const all = [...(recorded.measures ?? []), ...(recorded.agreements ?? [])];
  const kindOf = (item: Measure | Agreement): CodedKind =>
    'imposingParty' in item ? 'measure' : 'agreement';
  return {
    loads,
    resolve: (kind, idOrCode) =>
      Promise.resolve(
        isUuid(idOrCode)
          ? idOrCode.toLowerCase()
          : (all.find(
              (item) =>
                kindOf(item) === kind && item.code?.toUpperCase() === idOrCode.toUpperCase(),
            )?.id ?? null),
      ),
    recorded: (kind, id) =>
      Promise.resolve(all.some((item) => kindOf(item) === kind && item.id === id)),
    measure: (id) => {
      loads.push(id);
      return Promise.resolve(recorded.measures?.find((measure) => measure.id === id) ?? null);
    },
    agreement: (id) => {
      loads.push(id);
      return Promise.resolve(recorded.agreements?.find((agreement) => agreement.id === id) ?? null);
    },
  };
}

/** A measure as recorded, with only what a translation reads filled in. */
export function recordedMeasure(
  id: string,
  code: string,
  imposingParty = 'US',
  targetParties = ['CN'],
): Measure {
  return {
    id,
    code,
    title: code,
    kind: 'tariff',
    imposingParty,
    targetParties,
    rateHistory: [],
    scopeHistory: [],
    timeZone: 'America/New_York',
    respondsTo: [],
    suspensions: [],
    exclusions: [],
    claims: [],
    sources: [],
  };
}

/** An agreement as recorded, reaffirming `reaffirms`. */
export function recordedAgreement(id: string, code: string, reaffirms: string[] = []): Agreement {
  return {
    id,
    code,
    title: code,
    parties: ['US', 'CN'],
    concludedAt: '2025-05-12T08:00:00.000Z',
    commitments: [],
    reaffirms,
    claims: [],
    sources: [],
  };
}
