/**
 * Every broken invariant has a stable, kebab-case code that clients can rely on. The kind tells
 * the one place that maps domain errors to HTTP which family of status it belongs to.
 */
export const DOMAIN_ERROR_KINDS = {
  // invalid input: the command can never succeed as written
  'invalid-party-code': 'invalid',
  'invalid-instant': 'invalid',
  'invalid-time-zone': 'invalid',
  'invalid-duration': 'invalid',
  'invalid-id': 'invalid',
  'invalid-code': 'invalid',
  'invalid-source': 'invalid',
  'invalid-rate': 'invalid',
  'invalid-currency': 'invalid',
  'invalid-hs-code': 'invalid',
  'invalid-scope': 'invalid',
  'invalid-measure-kind': 'invalid',
  'invalid-commitment-kind': 'invalid',
  'invalid-commitment-status': 'invalid',
  'invalid-suspended-part': 'invalid',
  'invalid-suspension-start': 'invalid',
  'invalid-suspension-end': 'invalid',
  'source-required': 'invalid',
  'title-required': 'invalid',
  'text-required': 'invalid',
  'target-party-required': 'invalid',
  'agreement-parties-required': 'invalid',
  'measure-definition-required': 'invalid',
  'measure-date-required': 'invalid',
  'amendment-empty': 'invalid',
  'negative-rate': 'invalid',
  'suspension-ends-before-start': 'invalid',
  'exclusion-ends-before-start': 'invalid',
  'measure-targets-itself': 'invalid',
  'duplicate-target-party': 'invalid',
  'duplicate-agreement-party': 'invalid',
  // dates that contradict the stream's own facts: the request is wrong as written (its date),
  // and no retry will make it right, so these are input errors (422) rather than conflicts
  'announced-before-threatened': 'invalid',
  'effective-before-threatened': 'invalid',
  'effective-before-announced': 'invalid',
  'revoked-before-measure': 'invalid',
  'suspension-starts-before-measure': 'invalid',
  'extended-before-start': 'invalid',
  'lifted-before-start': 'invalid',
  'commitment-before-concluded': 'invalid',
  'commitment-status-before-concluded': 'invalid',
  'reaffirmed-before-concluded': 'invalid',
  'amended-before-measure': 'invalid',
  'suspension-already-ended': 'invalid',
  'extension-ends-before-effective': 'invalid',
  // requests that would leave the record incoherent however often they are retried: a start
  // that is part of its scheduling, an agreement that (through others) reaffirms itself
  'fixed-start-not-retractable': 'invalid',
  'agreement-self-reaffirmation': 'invalid',
  'agreement-reaffirmation-cycle': 'invalid',
  // unknown references
  'measure-not-found': 'not-found',
  'agreement-not-found': 'not-found',
  'suspension-not-found': 'not-found',
  'exclusion-not-found': 'not-found',
  'commitment-not-found': 'not-found',
  'event-not-found': 'not-found',
  // conflicts with the current state of the aggregate
  'measure-already-exists': 'conflict',
  // codes are unique across measures (and across agreements): checked at write time
  'measure-code-taken': 'conflict',
  'agreement-code-taken': 'conflict',
  'measure-already-announced': 'conflict',
  'measure-already-implemented': 'conflict',
  'measure-revoked': 'conflict',
  'agreement-already-exists': 'conflict',
  'agreement-already-reaffirmed': 'conflict',
  'countermeasure-party-mismatch': 'conflict',
  'countermeasure-already-linked': 'conflict',
  'suspended-part-exceeds-rate': 'conflict',
  'suspended-part-not-applicable': 'conflict',
  'suspension-already-exists': 'conflict',
  'suspension-already-started': 'conflict',
  'suspension-not-active': 'conflict',
  'suspension-not-ended': 'conflict',
  'suspension-end-moved': 'conflict',
  'suspension-end-unresolved': 'conflict',
  'extension-not-later': 'conflict',
  'exclusion-already-exists': 'conflict',
  'exclusion-not-active': 'conflict',
  'exclusion-not-ended': 'conflict',
  'commitment-already-exists': 'conflict',
  'commitment-status-unchanged': 'conflict',
  'obligor-not-party': 'conflict',
  'event-already-retracted': 'conflict',
} as const;

export type DomainErrorCode = keyof typeof DOMAIN_ERROR_KINDS;
export type DomainErrorKind = (typeof DOMAIN_ERROR_KINDS)[DomainErrorCode];

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** Plain data about the offending values, safe to show to the client. */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get kind(): DomainErrorKind {
    return DOMAIN_ERROR_KINDS[this.code];
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}

/** Throws when the condition does not hold; keeps invariant checks one line each. */
export function ensure(
  condition: unknown,
  code: DomainErrorCode,
  message: string,
  details?: Record<string, unknown>,
): asserts condition {
  if (!condition) throw new DomainError(code, message, details);
}
