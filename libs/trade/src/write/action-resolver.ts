import {
  agreementDecider,
  DomainError,
  isUuid,
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
  /**
   * Whether a measure or agreement is recorded under this id, in one cheap read (not a fold).
   * A resolver without it is asked for the aggregate itself.
   */
  recorded?(kind: CodedKind, id: string): Promise<boolean>;
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

/**
 * The id of a recorded measure or agreement that an action refers to (another stream than the
 * one written), or the domain's `measure-not-found` / `agreement-not-found` naming `field`.
 * A UUID names itself whether or not anything is recorded under it, so it is looked for (in
 * streams of that kind: a measure's id is no agreement); a code is claimed in the transaction
 * that records its stream, so a code that resolves names a recorded one. One read per reference.
 */
export async function requireRecorded(
  resolver: ActionResolver,
  kind: CodedKind,
  idOrCode: string,
  field: string,
): Promise<string> {
  const id = await resolver.resolve(kind, idOrCode);
  if (id === null || (isUuid(idOrCode) && !(await isRecorded(resolver, kind, id)))) {
    throw new DomainError(`${kind}-not-found`, `No ${kind} is named ${idOrCode}`, {
      [kind]: idOrCode,
      field,
    });
  }
  return id;
}

async function isRecorded(resolver: ActionResolver, kind: CodedKind, id: string): Promise<boolean> {
  if (resolver.recorded) return resolver.recorded(kind, id);
  const found = kind === 'measure' ? await resolver.measure(id) : await resolver.agreement(id);
  return found !== null;
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
    // A stream of either kind is begun by the event that records its measure or agreement.
    recorded: (kind, id) =>
      writer.streamExists(kind === 'measure' ? measureStreamId(id) : agreementStreamId(id)),
  };
}
