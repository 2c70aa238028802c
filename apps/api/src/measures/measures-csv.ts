import { type Rate, withoutControlCharacters } from '@app/domain';
import type { MeasureSummary } from '@app/projections';

/** RFC 4180: CRLF between records; a field with a comma, quote or line break is quoted. */
export function toCsv(rows: ReadonlyArray<ReadonlyArray<string | number | null>>): string {
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  // Control characters dropped first (input refuses them, but events recorded before it did may
  // hold them; raw, an escape sequence would reach the terminal of anyone who prints the
  // export), so that one cannot hide a formula from the check below.
  let text = withoutControlCharacters(String(value));
  // A spreadsheet runs a text cell that starts like a formula; a leading quote keeps it text.
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export const MEASURE_CSV_HEADER = [
  'id',
  'code',
  'title',
  'kind',
  'imposingParty',
  'targetParties',
  'status',
  'rate',
  'fullRate',
  'suspendedPoints',
  'activeSuspensionId',
  'activeSuspensionEndsAt',
  'announcedAt',
  'effectiveAt',
  'revokedAt',
  'legalBasis',
  'instrument',
  'asOf',
] as const;

/** One line of the list view, in the order of MEASURE_CSV_HEADER. */
export function measureCsvRow(view: MeasureSummary, asOf: string): Array<string | number | null> {
  return [
    view.id,
    view.code,
    view.title,
    view.kind,
    view.imposingParty,
    view.targetParties.join(';'),
    view.status,
    rateText(view.rate),
    rateText(view.fullRate),
    view.suspendedPart?.percentPoints ?? null,
    view.activeSuspension?.id ?? null,
    view.activeSuspension?.endsAt ?? null,
    view.announcedAt,
    view.effectiveAt,
    view.revokedAt,
    view.legalBasis,
    view.instrument,
    asOf,
  ];
}

function rateText(rate: Rate | null): string | null {
  if (!rate) return null;
  return rate.type === 'ad-valorem'
    ? `${rate.percent}%`
    : `${rate.amount} ${rate.currency} per ${rate.unit}`;
}
