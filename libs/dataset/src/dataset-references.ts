import { isUuid } from '@app/domain';
import type { Dataset, DatasetOperation } from './dataset.schema';

export type CodedKind = 'measure' | 'agreement';
type RefKind = 'suspension' | 'exclusion' | 'commitment';

/** Something wrong with what an operation names, at `path` inside `operations[index]`. */
export interface ReferenceProblem {
  index: number;
  path: (string | number)[];
  message: string;
  /** The ref the problem is that nothing created (an operation the file got wrong may). */
  undefinedName?: string;
}

/** A measure or agreement an operation names that the file does not record: the database must. */
export interface NameToLookUp {
  kind: CodedKind;
  name: string;
  index: number;
  path: (string | number)[];
}

/** A measure or agreement the file records, by the id the importer derives for it. */
export interface RecordedName {
  kind: CodedKind;
  code: string;
  id: string;
  index: number;
  path: (string | number)[];
}

export interface ReferenceCheck {
  problems: ReferenceProblem[];
  lookUp: NameToLookUp[];
  recorded: RecordedName[];
}

/** Codes are matched as the code index matches them: trimmed, in any case. */
const normalizeCode = (code: string) => code.trim().toUpperCase();

/**
 * Checks, before anything is written, what each operation of a file names (data/README.md):
 * a `ref` (suspension, exclusion, commitment) must be created by an earlier operation, of that
 * kind, on the same measure or agreement, and is created once; a measure or agreement code must
 * be recorded by an earlier operation, or else be in the database already (returned in
 * `lookUp`). `derive` is the importer's id of a name (`measure:CODE`, a ref).
 */
export function checkReferences(
  dataset: Pick<Dataset, 'operations'>,
  derive: (name: string) => string,
): ReferenceCheck {
  const problems: ReferenceProblem[] = [];
  const lookUp: NameToLookUp[] = [];
  const recorded: RecordedName[] = [];
  /** Codes (and derived ids) the file records, with the operation recording them. */
  const codes = new Map<string, { kind: CodedKind; index: number; code: string }>();
  const refs = new Map<
    string,
    { kind: RefKind; owner: string; ownerName: string; index: number }
  >();
  const laterCodes = recordedCodes(dataset.operations);

  /** The key a measure or agreement is known by in this check, whichever way it is named. */
  const ownerKey = (kind: CodedKind, name: string) => {
    const known = codes.get(isUuid(name) ? name.toLowerCase() : `${kind}:${normalizeCode(name)}`);
    return known ? `${kind}:${normalizeCode(known.code)}` : `${kind}:${name.toLowerCase()}`;
  };

  const named = (index: number, path: (string | number)[], kind: CodedKind, name: string) => {
    const key = isUuid(name) ? name.toLowerCase() : `${kind}:${normalizeCode(name)}`;
    const known = codes.get(key);
    if (known && known.kind === kind) return;
    const later = laterCodes.get(`${kind}:${normalizeCode(name)}`);
    if (later !== undefined && later > index) {
      problems.push({
        index,
        path,
        message: `the ${kind} ${name} is recorded only later, by operations[${later}]; record it first`,
      });
      return;
    }
    lookUp.push({ kind, name, index, path });
  };

  const uses = (
    index: number,
    path: (string | number)[],
    kind: RefKind,
    ref: string,
    ownerKind: CodedKind,
    ownerName: string,
  ) => {
    const created = refs.get(ref);
    if (!created) {
      problems.push({
        index,
        path,
        message: `no ${kind} ${ref} is created earlier in the file (refs name what an earlier operation created)`,
        undefinedName: ref,
      });
    } else if (created.kind !== kind) {
      problems.push({
        index,
        path,
        message: `${ref} is ${article(created.kind)} (operations[${created.index}]), not ${article(kind)}`,
      });
    } else if (created.owner !== ownerKey(ownerKind, ownerName)) {
      problems.push({
        index,
        path,
        message: `${kind} ${ref} belongs to ${ownerKind} ${created.ownerName} (operations[${created.index}]), not to ${ownerName}`,
      });
    }
  };

  const creates = (
    index: number,
    kind: RefKind,
    ref: string,
    ownerKind: CodedKind,
    ownerName: string,
  ) => {
    const earlier = refs.get(ref);
    if (earlier) {
      problems.push({
        index,
        path: ['ref'],
        message: `ref ${ref} is already created by operations[${earlier.index}]: every ref in a file is unique`,
      });
      return;
    }
    refs.set(ref, { kind, owner: ownerKey(ownerKind, ownerName), ownerName, index });
  };

  const records = (index: number, kind: CodedKind, code: string | undefined, key: string) => {
    const id = derive(`${kind}:${code ?? key}`);
    // Without a code, only its derived id could name it.
    if (code === undefined) {
      codes.set(id, { kind, index, code: id });
      return;
    }
    const earlier = codes.get(`${kind}:${normalizeCode(code)}`);
    if (earlier) {
      problems.push({
        index,
        path: ['body', 'code'],
        message: `the ${kind} code ${code} is already recorded by operations[${earlier.index}]`,
      });
      return;
    }
    const entry = { kind, index, code };
    codes.set(`${kind}:${normalizeCode(code)}`, entry);
    codes.set(id, entry);
    recorded.push({ kind, code, id, index, path: ['body', 'code'] });
  };

  dataset.operations.forEach((op: DatasetOperation, index) => {
    switch (op.action) {
      case 'record-measure':
        op.body.respondsTo?.forEach((name, at) =>
          named(index, ['body', 'respondsTo', at], 'measure', name),
        );
        records(index, 'measure', op.body.code, op.key);
        return;
      case 'conclude-agreement':
        records(index, 'agreement', op.body.code, op.key);
        return;
      case 'amend-measure':
      case 'revoke-measure':
        named(index, ['measure'], 'measure', op.measure);
        return;
      case 'schedule-suspension': {
        named(index, ['measure'], 'measure', op.measure);
        const { startsWhen, agreement } = op.body;
        if (startsWhen) {
          named(index, ['body', 'startsWhen', 'measure'], 'measure', startsWhen.measure);
          uses(
            index,
            ['body', 'startsWhen', 'suspension'],
            'suspension',
            startsWhen.suspension,
            'measure',
            startsWhen.measure,
          );
        }
        if (agreement) named(index, ['body', 'agreement'], 'agreement', agreement);
        creates(index, 'suspension', op.ref, 'measure', op.measure);
        return;
      }
      case 'extend-suspension':
        named(index, ['measure'], 'measure', op.measure);
        if (op.body.agreement) named(index, ['body', 'agreement'], 'agreement', op.body.agreement);
        uses(index, ['suspension'], 'suspension', op.suspension, 'measure', op.measure);
        return;
      case 'lift-suspension':
        named(index, ['measure'], 'measure', op.measure);
        uses(index, ['suspension'], 'suspension', op.suspension, 'measure', op.measure);
        return;
      case 'grant-exclusion':
        named(index, ['measure'], 'measure', op.measure);
        creates(index, 'exclusion', op.ref, 'measure', op.measure);
        return;
      case 'extend-exclusion':
        named(index, ['measure'], 'measure', op.measure);
        uses(index, ['exclusion'], 'exclusion', op.exclusion, 'measure', op.measure);
        return;
      case 'record-claim':
      case 'retract-event':
        if (op.measure) named(index, ['measure'], 'measure', op.measure);
        if (op.agreement) named(index, ['agreement'], 'agreement', op.agreement);
        return;
      case 'record-commitment':
        named(index, ['agreement'], 'agreement', op.agreement);
        op.body.measures?.forEach((name, at) =>
          named(index, ['body', 'measures', at], 'measure', name),
        );
        creates(index, 'commitment', op.ref, 'agreement', op.agreement);
        return;
      case 'change-commitment-status':
        named(index, ['agreement'], 'agreement', op.agreement);
        uses(index, ['commitment'], 'commitment', op.commitment, 'agreement', op.agreement);
        return;
      case 'reaffirm-agreement':
        named(index, ['agreement'], 'agreement', op.agreement);
        named(index, ['body', 'reaffirms'], 'agreement', op.body.reaffirms);
        return;
      default: {
        const unknown: never = op;
        throw new Error(`Unknown operation ${JSON.stringify(unknown)}`);
      }
    }
  });
  return { problems, lookUp, recorded };
}

const article = (kind: RefKind) => `${kind === 'exclusion' ? 'an' : 'a'} ${kind}`;

/** The first operation recording each code, by `kind:CODE`. */
function recordedCodes(operations: DatasetOperation[]): Map<string, number> {
  const first = new Map<string, number>();
  operations.forEach((op, index) => {
    const kind =
      op.action === 'record-measure'
        ? 'measure'
        : op.action === 'conclude-agreement'
          ? 'agreement'
          : undefined;
    const code = kind && (op.body as { code?: string }).code;
    if (kind && code && !first.has(`${kind}:${normalizeCode(code)}`))
      first.set(`${kind}:${normalizeCode(code)}`, index);
  });
  return first;
}
