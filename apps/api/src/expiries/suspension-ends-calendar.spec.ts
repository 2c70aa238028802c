import { suspensionEndsCalendar, type CalendarEnd } from './suspension-ends-calendar';

const end = (title: string): CalendarEnd => ({
  suspensionId: '6d1f4a0e-6f43-4b9e-9a53-0b3c1b0d9a11',
  endsAt: '2026-08-12T04:01:00.000Z',
  startsAt: '2026-05-14T04:01:00.000Z',
  state: 'active',
  part: null,
  reinstatesAutomatically: true,
  liftedAt: null,
  lapsedAt: null,
  extensions: 0,
  revision: 3,
  changedAt: '2026-05-12T08:00:00.000Z',
  measure: {
    id: 'a7e0c8d2-1b8e-4f43-9c3e-2f6b7d8e9f01',
    code: 'QA-US',
    title,
    kind: 'tariff',
    imposingParty: 'US',
    targetParties: ['CN'],
    timeZone: 'America/New_York',
  },
  agreement: null,
  cancelled: null,
});

describe('suspensionEndsCalendar', () => {
  it('drops from TEXT values the control characters RFC 5545 keeps out of them, breaks escaped', () => {
    // Recorded before input refused them: the events keep them for ever.
    const ics = suspensionEndsCalendar(
      [end('a\u0001b\u001b[31mc\u007fd\u000be\tf\r\nBEGIN:VEVENT;,\\')],
      'https://accord.example',
    );

    // No CONTROL character (RFC 5545 §3.3.11) but the CRLF ending each content line.
    // eslint-disable-next-line no-control-regex
    expect(ics.replace(/\r\n/g, '')).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f]/);
    expect(ics).toContain('SUMMARY:Suspension ends: QA-US — ab[31mcde\tf\\nBEGIN:VEVENT\\;\\,\\\\');
  });
});
