import {
  agreementDecider,
  DomainError,
  measureDecider,
  type Agreement,
  type AgreementEvent,
  type AgreementState,
  type Measure,
  type MeasureState,
} from '@app/domain';
import type { CodedKind, StreamCodeIndex } from '../codes/stream-code-index';
import { agreementStreamId, measureStreamId } from '../trade.streams';
import type { AggregateWriter } from './aggregate-writer';

/**
 * What turning an action into a domain command reads: the id a code names, and the measures
 * and agreements an action refers to. The handlers read them from the store; the importer's dry
 * run from the states it folds in memory, so that both translate an action the same way.
 */
export interface ActionResolver {
  /** The id a code names (a UUID names itself), or null when nothing is named so. */
  resolve(kind: CodedKind, idOrCode: string): Promise<string | null>;
  /** The measure as recorded, or null when its stream has no measure. */
  measure(measureId: string): Promise<Measure | null>;
  /** The agreement as recorded, or null when its stream has no agreement. */
  agreement(agreementId: string): Promise<Agreement | null>;
}

/** The id a code names, or the domain's `measure-not-found` / `agreement-not-found`. */
export async function requireId(
  resolver: ActionResolver,
  kind: CodedKind,
  idOrCode: string,
): Promise<string> {
  const id = await resolver.resolve(kind, idOrCode);
  if (!id) {
    throw new DomainError(`${kind}-not-found`, `No ${kind} is named ${idOrCode}`, {
      [kind]: idOrCode,
    });
  }
  return id;
}

/** Resolves against what is stored: the code index and the streams as the writer loads them. */
export function storedActionResolver(
  writer: AggregateWriter,
  codes: StreamCodeIndex,
): ActionResolver {
  return {
    resolve: (kind, idOrCode) => codes.resolve(kind, idOrCode),
    measure: async (measureId) => {
      const { state } = await writer.load<MeasureState['history'][number], MeasureState>(
        measureDecider,
        measureStreamId(measureId),
      );
      return state.measure;
    },
    agreement: async (agreementId) => {
      const { state } = await writer.load<AgreementEvent, AgreementState>(
        agreementDecider,
        agreementStreamId(agreementId),
      );
      return state.agreement;
    },
  };
}
