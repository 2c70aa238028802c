import type { SuspensionEndView } from '@app/projections';
import ical, { ICalEventStatus } from 'ical-generator';

/**
 * An RFC 5545 calendar with one VEVENT per suspension end. The UID is the suspension's id, so a
 * subscribed client updates the event when the end moves (SEQUENCE grows with every change of
 * the suspension) instead of adding another; a lifted suspension stays, CANCELLED.
 */
export function suspensionEndsCalendar(ends: SuspensionEndView[]): string {
  const calendar = ical({
    name: 'Accord: suspension ends',
    description: 'When suspended trade measures are due to come back, unless extended.',
    prodId: { company: 'Accord', product: 'Suspension ends', language: 'EN' },
    ttl: 60 * 60,
  });
  for (const end of ends) {
    const lifted = end.state === 'lifted';
    calendar.createEvent({
      id: `${end.suspensionId}@accord`,
      // DTSTART in UTC: the instant the suspension ends. No DTEND: the event is that instant.
      start: new Date(end.endsAt),
      stamp: new Date(end.changedAt),
      sequence: end.revision,
      summary: `${lifted ? 'Lifted: ' : ''}Suspension ends: ${measureName(end)}${partOf(end)}`,
      description: descriptionOf(end),
      status: lifted ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      categories: [{ name: end.measure.kind }],
    });
  }
  // Every content line ends with CRLF (RFC 5545 §3.1), the last one too.
  return `${calendar.toString()}\r\n`;
}

function measureName(end: SuspensionEndView): string {
  const { code, title } = end.measure;
  return code ? `${code} — ${title}` : title;
}

function partOf(end: SuspensionEndView): string {
  return end.part ? ` (${end.part.percentPoints} points)` : '';
}

function descriptionOf(end: SuspensionEndView): string {
  const { measure } = end;
  const lines = [
    `${measure.imposingParty} ${measure.kind} on ${measure.targetParties.join(', ')}: ${measure.title}.`,
    end.part
      ? `${end.part.percentPoints} percentage points are suspended.`
      : 'The whole measure is suspended.',
    end.startsAt ? `Suspended since ${end.startsAt}.` : 'The suspension has not started yet.',
    `Ends at ${end.endsAt}${end.extensions ? ` after ${end.extensions} extension(s)` : ''}.`,
    end.state === 'lifted'
      ? `Lifted at ${end.liftedAt}: it will not end here.`
      : end.state === 'lapsed'
        ? `Lapsed at ${end.lapsedAt}.`
        : end.reinstatesAutomatically
          ? 'The measure applies again in full at the end unless the suspension is extended.'
          : 'The measure does not apply again by itself at the end.',
  ];
  if (end.agreement) lines.push(`Agreed in ${end.agreement.code ?? end.agreement.id}.`);
  lines.push(`Measure: /api/v1/measures/${measure.code ?? measure.id}`);
  return lines.join('\n');
}
