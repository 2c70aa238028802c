import { withoutControlCharacters } from '@app/domain';
import type { SuspensionEndQueries } from '@app/projections';
import ical, { ICalEventStatus } from 'ical-generator';

/** A suspension end the feed shows, cancelled ones too. */
export type CalendarEnd = Awaited<
  ReturnType<SuspensionEndQueries['listWithCancelled']>
>['items'][number];

const CANCELLED_PREFIX: Record<NonNullable<CalendarEnd['cancelled']>['reason'], string> = {
  lifted: 'Lifted: ',
  retracted: 'Retracted: ',
  'measure-revoked': 'Measure revoked: ',
};

/**
 * An RFC 5545 calendar with one VEVENT per suspension end. The UID is the suspension's id, so a
 * subscribed client updates the event when the end moves (SEQUENCE is the measure's stream
 * version, so it grows with every change and never goes back) instead of adding another. An
 * end that will not come (lifted, retracted, or its measure revoked before it) stays,
 * CANCELLED: a client that merged the event by UID then removes it, where an event that merely
 * left the feed would stay in its calendar forever.
 * Each event links to its measure under `origin` (as `https://host`): a calendar client has no
 * base URL to resolve a relative link against.
 */
export function suspensionEndsCalendar(ends: CalendarEnd[], origin: string): string {
  const calendar = ical({
    name: 'Accord: suspension ends',
    description: 'When suspended trade measures are due to come back, unless extended.',
    prodId: { company: 'Accord', product: 'Suspension ends', language: 'EN' },
    ttl: 60 * 60,
  });
  for (const end of ends) {
    const { cancelled } = end;
    calendar.createEvent({
      id: `${end.suspensionId}@accord`,
      // DTSTART in UTC: the instant the suspension ends. No DTEND: the event is that instant.
      start: new Date(end.endsAt),
      stamp: new Date(end.changedAt),
      sequence: end.revision,
      summary: calendarText(
        `${cancelled ? CANCELLED_PREFIX[cancelled.reason] : ''}Suspension ends: ${measureName(end)}${partOf(end)}`,
      ),
      description: calendarText(descriptionOf(end, origin)),
      status: cancelled ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      categories: [{ name: end.measure.kind }],
    });
  }
  // Every content line ends with CRLF (RFC 5545 §3.1), the last one too.
  return `${calendar.toString()}\r\n`;
}

/**
 * `text` as a calendar TEXT value may hold it (RFC 5545 §3.3.11): without control characters.
 * Input refuses them, but events recorded before it did may hold them (the log is immutable);
 * a strict client would refuse the whole feed.
 */
export function calendarText(text: string): string {
  return withoutControlCharacters(text);
}

function measureName(end: CalendarEnd): string {
  const { code, title } = end.measure;
  return code ? `${code} — ${title}` : title;
}

function partOf(end: CalendarEnd): string {
  return end.part ? ` (${end.part.percentPoints} points)` : '';
}

function descriptionOf(end: CalendarEnd, origin: string): string {
  const { measure, cancelled } = end;
  const lines = [
    `${measure.imposingParty} ${measure.kind} on ${measure.targetParties.join(', ')}: ${measure.title}.`,
    end.part
      ? `${end.part.percentPoints} percentage points are suspended.`
      : 'The whole measure is suspended.',
    end.startsAt ? `Suspended since ${end.startsAt}.` : 'The suspension has not started yet.',
    `Ends at ${end.endsAt}${end.extensions ? ` after ${end.extensions} extension(s)` : ''}.`,
    cancelled
      ? cancellationLine(cancelled)
      : end.state === 'lapsed'
        ? `Lapsed at ${end.lapsedAt}.`
        : end.reinstatesAutomatically
          ? 'The measure applies again in full at the end unless the suspension is extended.'
          : 'The measure does not apply again by itself at the end.',
  ];
  if (end.agreement) lines.push(`Agreed in ${end.agreement.code ?? end.agreement.id}.`);
  lines.push(
    `Measure: ${origin}/api/v1/measures/${encodeURIComponent(measure.code ?? measure.id)}`,
  );
  return lines.join('\n');
}

function cancellationLine({ reason, at }: NonNullable<CalendarEnd['cancelled']>): string {
  switch (reason) {
    case 'lifted':
      return `Lifted at ${at}: it will not end here.`;
    case 'retracted':
      return `Retracted at ${at}: the suspension (or its measure) was withdrawn from the record, so it will not end here.`;
    case 'measure-revoked':
      return `Measure revoked at ${at}, before this end: it will not end here.`;
    default: {
      const unreachable: never = reason;
      return unreachable;
    }
  }
}
