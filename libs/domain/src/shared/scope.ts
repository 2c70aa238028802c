import { ensure } from './domain-error';
import { ensurePartyCodes, type PartyCode } from './party-code';
import { isText, pickDefined } from './source';

/** What a measure covers: products and, where a measure says so, territories such as HK or MO. */
export interface Scope {
  description?: string;
  /** HS / HTSUS / CN tariff lines or headings, e.g. `8703`, `9903.01.63`. */
  hsCodes?: string[];
  /** Territories covered besides the target parties themselves, e.g. `HK`, `MO`. */
  inclusions?: PartyCode[];
  /**
   * True when the measure applies to all products of the target parties (an economy-wide
   * tariff), not to a product list; the tariff summary adds such rates up on their own.
   */
  allProducts?: boolean;
}

const HS_CODE = /^\d{4}(\.?\d{2}){0,3}$/;

export function toScope(value: unknown, field = 'scope'): Scope {
  ensure(
    typeof value === 'object' && value !== null,
    'invalid-hs-code',
    `${field} must be an object`,
    {
      field,
    },
  );
  const scope = value as Record<string, unknown>;
  // An empty field name reports the scope's own fields at the top level (exclusions use it).
  const prefix = field ? `${field}.` : '';
  const hsCodes = toList(scope.hsCodes, `${prefix}hsCodes`, 'invalid-hs-code');
  hsCodes?.forEach((code, index) =>
    ensure(
      typeof code === 'string' && HS_CODE.test(code),
      'invalid-hs-code',
      `${prefix}hsCodes[${index}] must be an HS code of 4 to 10 digits, got ${JSON.stringify(code)}`,
      { field: `${prefix}hsCodes[${index}]`, value: code },
    ),
  );
  const inclusions = toList(scope.inclusions, `${prefix}inclusions`, 'invalid-party-code');
  if (inclusions) ensurePartyCodes(inclusions, `${prefix}inclusions`);
  ensure(
    scope.description === undefined || isText(scope.description),
    'text-required',
    `${prefix}description must be a non-empty string`,
    { field: `${prefix}description` },
  );
  ensure(
    scope.allProducts === undefined || typeof scope.allProducts === 'boolean',
    'invalid-scope',
    `${prefix}allProducts must be true or false`,
    { field: `${prefix}allProducts`, value: scope.allProducts },
  );
  return pickDefined({
    description: scope.description,
    hsCodes: hsCodes as string[] | undefined,
    inclusions: inclusions && unique(inclusions as string[]),
    allProducts: scope.allProducts,
  });
}

function toList(
  value: unknown,
  field: string,
  code: 'invalid-hs-code' | 'invalid-party-code',
): unknown[] | undefined {
  if (value === undefined) return undefined;
  ensure(Array.isArray(value), code, `${field} must be an array`, { field });
  return value as unknown[];
}

export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
