import { createHash } from 'node:crypto';
import { canonicalJson } from '@app/domain';
import type { AgreementAction, MeasureAction } from '@app/trade';
import type { DatasetOperation } from './dataset.schema';
import { deterministicUuid } from './deterministic-id';

/**
 * An operation as the write side takes it: the aggregate it acts on (`target`, a code or an id
 * as the file names it; null for the operation that creates it) and the action, with the ids
 * derived from the file's codes and refs. The import and its dry run both start from here, so
 * that what is checked is what is sent.
 */
export type DatasetAction =
  | { aggregate: 'measure'; target: string | null; action: MeasureAction }
  | { aggregate: 'agreement'; target: string | null; action: AgreementAction };

/** The id the importer derives for a name of the file (`measure:CODE`, `agreement:CODE`, a ref). */
export function derivedId(dataset: string, name: string): string {
  return deterministicUuid(`${dataset}:${name}`);
}

export function actionOf(dataset: string, op: DatasetOperation): DatasetAction {
  const id = (name: string) => derivedId(dataset, name);
  const measure = (action: MeasureAction, target: string | null): DatasetAction => ({
    aggregate: 'measure',
    target,
    action,
  });
  const agreement = (action: AgreementAction, target: string | null): DatasetAction => ({
    aggregate: 'agreement',
    target,
    action,
  });
  switch (op.action) {
    case 'record-measure':
      return measure(
        { action: op.action, measureId: id(`measure:${op.body.code ?? op.key}`), body: op.body },
        null,
      );
    case 'amend-measure':
    case 'revoke-measure':
      return measure({ action: op.action, body: op.body }, op.measure);
    case 'schedule-suspension': {
      const { startsWhen } = op.body;
      const body = startsWhen
        ? { ...op.body, startsWhen: { ...startsWhen, suspension: id(startsWhen.suspension) } }
        : op.body;
      return measure({ action: op.action, suspensionId: id(op.ref), body }, op.measure);
    }
    case 'extend-suspension':
      return measure(
        { action: op.action, suspensionId: id(op.suspension), body: op.body },
        op.measure,
      );
    case 'lift-suspension':
      return measure(
        { action: op.action, suspensionId: id(op.suspension), body: op.body },
        op.measure,
      );
    case 'grant-exclusion':
      return measure({ action: op.action, exclusionId: id(op.ref), body: op.body }, op.measure);
    case 'extend-exclusion':
      return measure(
        { action: op.action, exclusionId: id(op.exclusion), body: op.body },
        op.measure,
      );
    case 'record-claim':
      return op.measure
        ? measure({ action: op.action, claimId: id(op.key), body: op.body }, op.measure)
        : agreement({ action: op.action, claimId: id(op.key), body: op.body }, op.agreement ?? '');
    case 'retract-event':
      return op.measure
        ? measure({ action: op.action, body: op.body }, op.measure)
        : agreement({ action: op.action, body: op.body }, op.agreement ?? '');
    case 'conclude-agreement':
      return agreement(
        {
          action: op.action,
          agreementId: id(`agreement:${op.body.code ?? op.key}`),
          body: op.body,
        },
        null,
      );
    case 'record-commitment':
      return agreement(
        { action: op.action, commitmentId: id(op.ref), body: op.body },
        op.agreement,
      );
    case 'change-commitment-status':
      return agreement(
        { action: op.action, commitmentId: id(op.commitment), body: op.body },
        op.agreement,
      );
    case 'reaffirm-agreement':
      return agreement({ action: op.action, body: op.body }, op.agreement);
    default: {
      const unknown: never = op;
      throw new Error(`Unknown operation ${JSON.stringify(unknown)}`);
    }
  }
}

/** The operation's idempotency id: importing the same key again finds it done. */
export function commandIdOf(dataset: string, op: DatasetOperation): string {
  return `import:${dataset}:${op.key}`;
}

/**
 * The ids `actionOf` derives for what an operation names (refs, and the codes of measures and
 * agreements the file records), each with that name: an error about the id can then say it
 * the way the file does.
 */
export function derivedNames(dataset: string, operation: DatasetOperation): Map<string, string> {
  const names = new Map<string, string>();
  const fields = operation as unknown as Record<string, unknown>;
  const startsWhen = (fields.body as { startsWhen?: { suspension?: unknown } } | undefined)
    ?.startsWhen;
  const refs = [fields.ref, fields.suspension, fields.exclusion, fields.commitment];
  for (const ref of [...refs, startsWhen?.suspension])
    if (typeof ref === 'string') names.set(derivedId(dataset, ref), ref);
  for (const kind of ['measure', 'agreement'] as const) {
    const code = fields[kind];
    if (typeof code === 'string') names.set(derivedId(dataset, `${kind}:${code}`), code);
  }
  return names;
}

/** The operation's content, whatever the order of its keys in the file. */
export function fingerprintOf(operation: DatasetOperation): string {
  return createHash('sha256').update(canonicalJson(operation)).digest('base64url');
}
