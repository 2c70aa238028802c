import { randomUUID } from 'node:crypto';
import {
  agreementDecider,
  DomainError,
  foldEvents,
  isUuid,
  measureDecider,
  type AgreementEvent,
  type AgreementState,
  type DecisionContext,
  type Decider,
  type MeasureEvent,
  type MeasureState,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import {
  agreementStreamId,
  measureStreamId,
  recordMeasureErrorInBodyTerms,
  requireId,
  toAgreementCommand,
  toDomainEvent,
  toMeasureCommand,
  type ActionResolver,
  type CodedKind,
} from '@app/trade';
import {
  actionOf,
  commandIdOf,
  derivedId,
  derivedNames,
  fingerprintOf,
  type DatasetAction,
} from './dataset-actions';
import type { Dataset, DatasetOperation } from './dataset.schema';

/** What the dry run reads of the database; it writes nothing. */
export interface RecordedState {
  /** The id a code names (a UUID names itself), or null. */
  resolve(kind: CodedKind, name: string): Promise<string | null>;
  readStream(streamId: string): Promise<RecordedEvent[]>;
  /** Where a command id was first appended, or null. */
  findCommand(commandId: string): Promise<{ streamId: string; eventIds: string[] } | null>;
}

/** An operation the write side would refuse, at `path` inside it. */
export interface DryRunProblem {
  index: number;
  path: (string | number)[];
  message: string;
}

export interface DryRunOptions {
  /** The decision clock the import will use. */
  now: Date;
  actor: string;
  /**
   * Names (`nameKey`: `measure:CODE`, `agreement:CODE`) already reported as unknown or taken: the
   * operations that use them are left out rather than reported again.
   */
  refused?: Iterable<string>;
}

export const REIMPORTED_WITH_OTHER_CONTENT =
  'it was imported before with other content. A key names one fact for good: to correct it, ' +
  'add an operation with a new key (or a retraction)';

/**
 * Runs a file's operations through the domain's deciders in memory, before anything is
 * written: each measure and agreement it touches starts from its stored events, and each
 * operation is decided on the state the earlier ones left, as the import would decide it. So
 * what only an earlier operation of the same file can tell (a part larger than the rate of a
 * measure recorded above, a lifting before the suspension scheduled above starts) is found
 * with everything else, and every refusal is reported with its operation.
 *
 * An operation found done (its key imported before) is skipped, as the import skips it; one
 * imported before with other content is reported. A refused operation is left out and the rest
 * decided without it; those that use what it would have created (its measure, agreement or
 * ref) are left out too, unreported: their own problems show once it is corrected.
 */
export async function dryRunImport(
  dataset: Dataset,
  recorded: RecordedState,
  options: DryRunOptions,
): Promise<DryRunProblem[]> {
  return new DryRun(dataset.dataset, recorded, options).run(dataset.operations);
}

interface Stream<State> {
  /** As stored (the dry run's own decisions are only in `state`). */
  events: RecordedEvent[];
  state: State;
}

class DryRun {
  private readonly measures = new Map<string, Stream<MeasureState>>();
  private readonly agreements = new Map<string, Stream<AgreementState>>();
  /** Codes recorded by the operations decided so far, by `kind:CODE`. */
  private readonly codes = new Map<string, string>();
  /** What refused operations would have created, and names reported before the dry run. */
  private readonly refused: Set<string>;
  /** Ids with the names the file gives them, to say them its way. */
  private readonly names = new Map<string, string>();
  private readonly context: DecisionContext;
  /** What the trade handlers would read, answered from the states decided so far. */
  private readonly resolver: ActionResolver = {
    resolve: (kind, name) => this.resolve(kind, name),
    measure: async (id) => (await this.measure(id)).state.measure,
    agreement: async (id) => (await this.agreement(id)).state.agreement,
  };

  constructor(
    private readonly dataset: string,
    private readonly recorded: RecordedState,
    options: DryRunOptions,
  ) {
    this.refused = new Set(options.refused);
    this.context = { now: options.now, newId: randomUUID, actor: options.actor };
  }

  async run(operations: DatasetOperation[]): Promise<DryRunProblem[]> {
    for (const op of operations)
      for (const [id, name] of derivedNames(this.dataset, op)) this.names.set(id, name);
    const problems: DryRunProblem[] = [];
    for (const [index, op] of operations.entries()) {
      if ([...usedNames(op), ...createdNames(this.dataset, op)].some((n) => this.refused.has(n))) {
        this.refuse(op);
        continue;
      }
      try {
        await this.decide(op);
      } catch (error) {
        problems.push({ index, ...this.problemOf(op, error) });
        // A key imported before with other content did create what it names.
        if (!(error instanceof ReimportedError && error.exists)) this.refuse(op);
      }
    }
    return problems;
  }

  private refuse(op: DatasetOperation): void {
    for (const name of createdNames(this.dataset, op)) this.refused.add(name);
  }

  /** A refusal as the file would say it; anything but a refusal is thrown on. */
  private problemOf(op: DatasetOperation, error: unknown): Omit<DryRunProblem, 'index'> {
    if (error instanceof ReimportedError) return { path: [], message: error.message };
    const refusal = op.action === 'record-measure' ? recordMeasureErrorInBodyTerms(error) : error;
    if (!(refusal instanceof DomainError)) throw refusal;
    const field = typeof refusal.details.field === 'string' ? refusal.details.field : undefined;
    let message = refusal.message;
    for (const [id, name] of this.names) message = message.replaceAll(id, name);
    return { path: field ? ['body', ...field.split('.')] : [], message };
  }

  private async decide(op: DatasetOperation): Promise<void> {
    const planned = actionOf(this.dataset, op);
    const aggregateId =
      planned.target === null
        ? createdId(planned)
        : await requireId(this.resolver, planned.aggregate, planned.target);
    if (await this.doneBefore(op, planned.aggregate, aggregateId)) return;
    if (planned.aggregate === 'measure') {
      const stream = await this.measure(aggregateId);
      const command = await toMeasureCommand(aggregateId, planned.action, this.resolver);
      fold(stream, measureDecider.decide(command, stream.state, this.context), measureDecider);
    } else {
      const stream = await this.agreement(aggregateId);
      const command = await toAgreementCommand(aggregateId, planned.action, this.resolver);
      fold(stream, agreementDecider.decide(command, stream.state, this.context), agreementDecider);
    }
    if (op.action === 'record-measure' || op.action === 'conclude-agreement') {
      const kind = op.action === 'record-measure' ? 'measure' : 'agreement';
      if (op.body.code) this.codes.set(nameKey(kind, op.body.code), aggregateId);
    }
  }

  /**
   * Whether the import would find this operation done, and skip it (its events are in the
   * stored stream already): the check the write side makes of a command id before deciding.
   */
  private async doneBefore(
    op: DatasetOperation,
    aggregate: DatasetAction['aggregate'],
    aggregateId: string,
  ): Promise<boolean> {
    const first = await this.recorded.findCommand(commandIdOf(this.dataset, op));
    if (!first) return false;
    const streamId =
      aggregate === 'measure' ? measureStreamId(aggregateId) : agreementStreamId(aggregateId);
    if (first.streamId !== streamId) throw new ReimportedError(false);
    const stream =
      aggregate === 'measure' ? await this.measure(aggregateId) : await this.agreement(aggregateId);
    const firstEvent = stream.events.find((event) => event.eventId === first.eventIds[0]);
    const fingerprint = firstEvent?.metadata.requestFingerprint;
    if (fingerprint !== undefined && fingerprint !== fingerprintOf(op))
      throw new ReimportedError(true);
    return true;
  }

  /** A code recorded earlier in the file (decided here), else what the database says. */
  private async resolve(kind: CodedKind, name: string): Promise<string | null> {
    if (isUuid(name)) return name.toLowerCase();
    const id = this.codes.get(nameKey(kind, name)) ?? (await this.recorded.resolve(kind, name));
    if (id) this.names.set(id, name);
    return id;
  }

  private measure(id: string): Promise<Stream<MeasureState>> {
    return this.load(this.measures, id, measureStreamId(id), measureDecider);
  }

  private agreement(id: string): Promise<Stream<AgreementState>> {
    return this.load(this.agreements, id, agreementStreamId(id), agreementDecider);
  }

  /** A stream as stored, read once; the dry run's decisions are folded onto it in memory. */
  private async load<Event extends MeasureEvent | AgreementEvent, State>(
    cache: Map<string, Stream<State>>,
    id: string,
    streamId: string,
    decider: Pick<Decider<unknown, Event, State>, 'evolve' | 'initialState'>,
  ): Promise<Stream<State>> {
    let stream = cache.get(id);
    if (!stream) {
      const events = await this.recorded.readStream(streamId);
      stream = {
        events,
        state: foldEvents(
          decider,
          events.map((e) => toDomainEvent<Event>(e)),
        ),
      };
      cache.set(id, stream);
    }
    return stream;
  }
}

/** The decided events, kept in memory: later operations are decided on them. */
function fold<Event, State>(
  stream: Stream<State>,
  events: Event[],
  decider: Pick<Decider<unknown, Event, State>, 'evolve'>,
): void {
  stream.state = events.reduce(decider.evolve, stream.state);
}

/** A key imported before with other content; `exists` when it did create what it names. */
class ReimportedError extends Error {
  constructor(readonly exists: boolean) {
    super(REIMPORTED_WITH_OTHER_CONTENT);
  }
}

function createdId(planned: DatasetAction): string {
  const { action } = planned;
  if (action.action === 'record-measure' && action.measureId) return action.measureId;
  if (action.action === 'conclude-agreement' && action.agreementId) return action.agreementId;
  throw new Error(`${action.action} names the ${planned.aggregate} it acts on`);
}

/** How the dry run keys a measure or agreement named by a code or an id: `measure:CODE`. */
export function nameKey(kind: CodedKind, name: string): string {
  return `${kind}:${isUuid(name) ? name.toLowerCase() : name.trim().toUpperCase()}`;
}

/** The measures, agreements (`kind:CODE`) and refs (`ref:name`) an operation uses. */
function usedNames(op: DatasetOperation): string[] {
  const fields = op as unknown as Record<string, unknown>;
  const body = fields.body as Record<string, unknown>;
  const names: string[] = [];
  const named = (kind: CodedKind, value: unknown) => {
    if (typeof value === 'string') names.push(nameKey(kind, value));
  };
  const ref = (value: unknown) => {
    if (typeof value === 'string') names.push(`ref:${value}`);
  };
  named('measure', fields.measure);
  named('agreement', fields.agreement);
  [fields.suspension, fields.exclusion, fields.commitment].forEach(ref);
  const startsWhen = body.startsWhen as { measure?: unknown; suspension?: unknown } | undefined;
  named('measure', startsWhen?.measure);
  ref(startsWhen?.suspension);
  // A suspension's or extension's agreement, a reaffirmed one; answered and linked measures.
  named('agreement', body.agreement);
  named('agreement', body.reaffirms);
  for (const list of [body.respondsTo, body.measures])
    if (Array.isArray(list)) list.forEach((value) => named('measure', value));
  return names;
}

/** What an operation creates, named as `usedNames` names it. */
function createdNames(dataset: string, op: DatasetOperation): string[] {
  switch (op.action) {
    case 'record-measure':
    case 'conclude-agreement': {
      const kind = op.action === 'record-measure' ? 'measure' : 'agreement';
      const id = derivedId(dataset, `${kind}:${op.body.code ?? op.key}`);
      return [nameKey(kind, id), ...(op.body.code ? [nameKey(kind, op.body.code)] : [])];
    }
    case 'schedule-suspension':
    case 'grant-exclusion':
    case 'record-commitment':
      return [`ref:${op.ref}`];
    case 'amend-measure':
    case 'extend-suspension':
    case 'lift-suspension':
    case 'revoke-measure':
    case 'extend-exclusion':
    case 'record-claim':
    case 'retract-event':
    case 'change-commitment-status':
    case 'reaffirm-agreement':
      return [];
    default: {
      const unknown: never = op;
      throw new Error(`Unknown operation ${JSON.stringify(unknown)}`);
    }
  }
}
