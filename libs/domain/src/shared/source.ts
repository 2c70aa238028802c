import { DateTime } from 'luxon';
import { ensure } from './domain-error';

export type Confidence = 'H' | 'M' | 'L';

/** Provenance of a fact. Field names are part of the public wire shape (SPEC §4). */
export interface Source {
  issuer: string;
  title: string;
  url?: string;
  /** e.g. `EO 14358`, `MOFCOM 2025 No. 70`, `90 FR 47201` */
  documentNumber?: string;
  /** A date (`2025-11-07`) or an instant. */
  publishedAt?: string;
  official: boolean;
  /** BCP 47 tag, e.g. `en`, `zh-Hans`. */
  language?: string;
  /** H = official text or two independent sources; M = one secondary source; L = weak. */
  confidence?: Confidence;
  /** The fact (or a detail of it, e.g. a document number) could not be confirmed. */
  unconfirmed?: boolean;
}

const URL_PATTERN = /^https?:\/\/[^\s/$.?#][^\s]*$/i;
const LANGUAGE_PATTERN = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

/** Every recorded fact cites at least one valid source; returns copies without unknown fields. */
export function toSources(value: unknown): Source[] {
  ensure(
    Array.isArray(value) && value.length > 0,
    'source-required',
    'At least one source is required',
  );
  return value.map((source, index) => toSource(source, `sources[${index}]`));
}

function toSource(value: unknown, field: string): Source {
  ensure(
    typeof value === 'object' && value !== null,
    'invalid-source',
    `${field} must be an object`,
    {
      field,
    },
  );
  const s = value as Record<string, unknown>;
  const check = (ok: boolean, name: string, rule: string): void => {
    ensure(ok, 'invalid-source', `${field}.${name} ${rule}`, { field: `${field}.${name}` });
  };
  check(isText(s.issuer), 'issuer', 'must be a non-empty string');
  check(isText(s.title), 'title', 'must be a non-empty string');
  check(typeof s.official === 'boolean', 'official', 'must be true or false');
  check(
    s.url === undefined || (typeof s.url === 'string' && URL_PATTERN.test(s.url)),
    'url',
    'must be an http(s) URL',
  );
  check(
    s.documentNumber === undefined || isText(s.documentNumber),
    'documentNumber',
    'must be a non-empty string',
  );
  check(
    s.publishedAt === undefined || isDateOrInstant(s.publishedAt),
    'publishedAt',
    'must be an ISO 8601 date or instant',
  );
  check(
    s.language === undefined ||
      (typeof s.language === 'string' && LANGUAGE_PATTERN.test(s.language)),
    'language',
    'must be a BCP 47 language tag',
  );
  check(
    s.confidence === undefined ||
      s.confidence === 'H' ||
      s.confidence === 'M' ||
      s.confidence === 'L',
    'confidence',
    "must be 'H', 'M' or 'L'",
  );
  check(
    s.unconfirmed === undefined || typeof s.unconfirmed === 'boolean',
    'unconfirmed',
    'must be true or false',
  );
  return pickDefined({
    issuer: s.issuer as string,
    title: s.title as string,
    url: s.url as string | undefined,
    documentNumber: s.documentNumber as string | undefined,
    publishedAt: s.publishedAt as string | undefined,
    official: s.official as boolean,
    language: s.language as string | undefined,
    confidence: s.confidence as Confidence | undefined,
    unconfirmed: s.unconfirmed as boolean | undefined,
  });
}

export function isText(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0;
}

function isDateOrInstant(value: unknown): boolean {
  return (
    typeof value === 'string' &&
    /^\d{4}-\d{2}-\d{2}/.test(value) &&
    DateTime.fromISO(value, { setZone: true }).isValid
  );
}

/**
 * Drops keys whose value is undefined, so that events stay plain JSON and compare equal after a
 * round trip through jsonb.
 */
export function pickDefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
