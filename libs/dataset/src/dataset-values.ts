import {
  agreementDecider,
  DomainError,
  isPartyCode,
  measureDecider,
  toInstant,
  toIsoDuration,
  toRate,
  toScope,
  toSources,
  toTimeZone,
  type DecisionContext,
} from '@app/domain';
import { recordMeasureErrorInBodyTerms } from '@app/trade';
import type { DatasetOperation } from './dataset.schema';

/** A value the domain would refuse, at `path` inside its operation. */
export interface ValueProblem {
  path: (string | number)[];
  message: string;
}

const INSTANT_FIELDS = new Set([
  'threatenedAt',
  'announcedAt',
  'effectiveAt',
  'startsAt',
  'endsAt',
  'dueAt',
  'concludedAt',
]);
const PARTY_FIELDS = new Set(['imposingParty', 'party', 'obligor']);
const PARTY_LIST_FIELDS = new Set(['targetParties', 'parties']);

/**
 * The checks the domain makes of an operation's own values (a time zone, an instant's range, a
 * party code, a negative rate, an end before its start), made before anything is written: the
 * file's schema lets these through, and the domain would refuse them only when their turn came,
 * with the operations before already recorded. Every check is the domain's own function (its
 * decider, for the operations that create a measure or an agreement, which need no state), so
 * the messages are the ones a write over HTTP gets. What depends on the state of a measure or
 * agreement (a part larger than the rate, a suspension lifted twice) is still decided when the
 * operation runs.
 */
export function checkOperationValues(
  operation: DatasetOperation,
  derive: (name: string) => string,
): ValueProblem[] {
  const problems: ValueProblem[] = [];
  const attempt = (check: () => unknown) => {
    try {
      check();
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const field = typeof error.details.field === 'string' ? error.details.field : undefined;
      problems.push({ path: field ? ['body', field] : ['body'], message: error.message });
    }
  };

  for (const [field, value] of Object.entries(operation.body as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (INSTANT_FIELDS.has(field)) attempt(() => toInstant(value, field));
    else if (PARTY_FIELDS.has(field)) attempt(() => ensureParty(value, field));
    else if (PARTY_LIST_FIELDS.has(field))
      (value as unknown[]).forEach((party, index) =>
        attempt(() => ensureParty(party, `${field}[${index}]`)),
      );
    else if (field === 'timeZone') attempt(() => toTimeZone(value, field));
    else if (field === 'duration') attempt(() => toIsoDuration(value, field));
    else if (field === 'rate') attempt(() => toRate(value, field));
    else if (field === 'scope') attempt(() => toScope(value, field));
    // An exclusion's HS codes are checked as a scope's are, named at the top of the body.
    else if (field === 'hsCodes') attempt(() => toScope({ hsCodes: value }, ''));
    else if (field === 'sources') attempt(() => toSources(value));
  }
  if (problems.length) return problems;

  // Rules between the values of one operation, once each value passes.
  switch (operation.action) {
    case 'record-measure':
      attempt(() => decideRecordMeasure(operation, derive));
      break;
    case 'conclude-agreement':
      attempt(() => decideConcludeAgreement(operation, derive));
      break;
    case 'amend-measure':
      if (operation.body.rate === undefined && operation.body.scope === undefined)
        problems.push({
          path: ['body'],
          message: 'An amendment changes the rate, the scope or both',
        });
      break;
    case 'schedule-suspension': {
      const { startsAt, endsAt } = operation.body;
      if (startsAt && endsAt && !isBefore(startsAt, endsAt))
        problems.push({
          path: ['body', 'endsAt'],
          message: `A suspension must end after it starts (${toInstant(startsAt)})`,
        });
      break;
    }
    case 'grant-exclusion': {
      const { effectiveAt, endsAt } = operation.body;
      if (endsAt && !isBefore(effectiveAt, endsAt))
        problems.push({
          path: ['body', 'endsAt'],
          message: 'An exclusion must end after it is granted',
        });
      break;
    }
    // Their values are checked above; the rest of what they say depends on recorded state.
    case 'extend-suspension':
    case 'lift-suspension':
    case 'revoke-measure':
    case 'extend-exclusion':
    case 'record-claim':
    case 'retract-event':
    case 'record-commitment':
    case 'change-commitment-status':
    case 'reaffirm-agreement':
      break;
    default: {
      const unknown: never = operation;
      throw new Error(`Unknown operation ${JSON.stringify(unknown)}`);
    }
  }
  return problems;
}

/** Both instants have passed `toInstant` by now. */
function isBefore(a: string, b: string): boolean {
  return Date.parse(toInstant(a)) < Date.parse(toInstant(b));
}

/** The domain's party-code check, which @app/domain exports only as the `isPartyCode` test. */
function ensureParty(value: unknown, field: string): void {
  if (!isPartyCode(value))
    throw new DomainError(
      'invalid-party-code',
      `${field} must be an assigned ISO 3166-1 alpha-2 code in upper case, got ${JSON.stringify(value)}`,
      { field, value },
    );
}

/** Nothing is appended: the events are thrown away, only a refusal matters. */
const checkOnly: DecisionContext = {
  now: new Date(0),
  newId: () => '00000000-0000-4000-8000-000000000000',
  actor: 'import',
};

/** A new measure decided on an empty stream, as the handler would: its dates in order, say. */
function decideRecordMeasure(
  operation: Extract<DatasetOperation, { action: 'record-measure' }>,
  derive: (name: string) => string,
): void {
  // The answered measures (`respondsTo`) are left out: their state is in the database.
  const {
    threatenedAt,
    announcedAt,
    effectiveAt,
    respondsTo: _answered,
    sources,
    ...definition
  } = operation.body;
  try {
    measureDecider.decide(
      {
        type: 'RecordMeasure',
        data: {
          measureId: derive(`measure:${operation.body.code ?? operation.key}`),
          measure: definition,
          threatenedAt,
          announcedAt,
          effectiveAt,
          respondsTo: [],
          sources,
        },
      },
      measureDecider.initialState(),
      checkOnly,
    );
  } catch (error) {
    throw recordMeasureErrorInBodyTerms(error);
  }
}

function decideConcludeAgreement(
  operation: Extract<DatasetOperation, { action: 'conclude-agreement' }>,
  derive: (name: string) => string,
): void {
  const { concludedAt, ...rest } = operation.body;
  agreementDecider.decide(
    {
      type: 'ConcludeAgreement',
      data: {
        ...rest,
        agreementId: derive(`agreement:${operation.body.code ?? operation.key}`),
        effectiveAt: concludedAt,
      },
    },
    agreementDecider.initialState(),
    checkOnly,
  );
}
