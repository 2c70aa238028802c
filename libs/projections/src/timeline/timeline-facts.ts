import {
  coveredPartiesOf,
  replayAgreement,
  replayMeasure,
  retractedEventIds,
  type Agreement,
  type AgreementEvent,
  type DomainEvent,
  type EventRetracted,
  type Measure,
  type MeasureEvent,
  type Rate,
  type SuspendedPart,
} from '@app/domain';

/** One event of a stream, with what the store added to it. */
export interface TimelineEntry {
  event: DomainEvent;
  version: number;
  position: number;
  recordedAt: string;
}

/** A row of `timeline_facts`, as inserted. */
export interface TimelineFactRow {
  event_id: string;
  stream_id: string;
  version: number;
  position: number;
  type: string;
  effective_at: string;
  recorded_at: string;
  measure_id: string | null;
  agreement_id: string | null;
  code: string | null;
  title: string;
  kind: string | null;
  imposing_party: string | null;
  parties: string[];
  subject_id: string | null;
  summary: string;
  actor: string | null;
  retracted_by: string | null;
  retracted_at: string | null;
}

/**
 * The timeline rows of one stream, computed from all its events: one per fact that changes the
 * legal situation, labelled with the measure or agreement as it now stands, and marked when it
 * no longer counts — retracted itself, or about a suspension, exclusion or commitment (or a
 * whole measure) whose recording was retracted. `live` is the measure the entries fold to when
 * the caller has folded them already; otherwise the entries are replayed.
 */
export function timelineRowsOf(
  streamId: string,
  entries: TimelineEntry[],
  live?: Measure | null,
): TimelineFactRow[] {
  const events = entries.map((entry) => entry.event);
  const struck = retractedEventIds(events);
  /** Each retracted event's standing retraction. */
  const retractionOf = new Map<string, TimelineEntry>();
  let latestRetraction: TimelineEntry | undefined;
  for (const entry of entries) {
    const { event } = entry;
    if (event.type !== 'EventRetracted' || struck.has(event.metadata.eventId)) continue;
    retractionOf.set((event as EventRetracted).data.eventId, entry);
    latestRetraction = entry;
  }
  const creatorOf = (type: string, key: string, id: string) =>
    entries.find(
      (entry) =>
        entry.event.type === type &&
        (entry.event.data as unknown as Record<string, unknown>)[key] === id,
    );

  const aggregateId = streamId.slice(streamId.indexOf('-') + 1);
  const facts = events.filter((event) => event.type !== 'EventRetracted');
  if (streamId.startsWith('measure-')) {
    const measure = live === undefined ? replayMeasure(events as MeasureEvent[]) : live;
    // Labels come from the facts that stand; a measure that no longer stands keeps its last name.
    const label = measure ?? replayMeasure(facts as MeasureEvent[]);
    if (!label) return [];
    return entries.flatMap((entry) => {
      const event = entry.event as MeasureEvent;
      const fact = measureFact(event, label);
      if (!fact) return [];
      const orphaned = () => {
        if (!measure) return latestRetraction;
        if (!fact.subject) return undefined;
        const [list, creatorType] =
          fact.subject.kind === 'suspension'
            ? [measure.suspensions, 'SuspensionScheduled']
            : [measure.exclusions, 'ExclusionGranted'];
        if (list.some((item) => item.id === fact.subject?.id)) return undefined;
        const key = fact.subject.kind === 'suspension' ? 'suspensionId' : 'exclusionId';
        const creator = creatorOf(creatorType, key, fact.subject.id);
        return (creator && retractionOf.get(creator.event.metadata.eventId)) ?? latestRetraction;
      };
      const mark = retractionOf.get(event.metadata.eventId) ?? orphaned();
      return [
        row(streamId, entry, mark, {
          measure_id: aggregateId,
          agreement_id: fact.agreement ?? null,
          code: label.code ?? null,
          title: label.title,
          kind: label.kind,
          imposing_party: label.imposingParty,
          // Territories its scope includes too (HK under the fentanyl duty on China).
          parties: unique([label.imposingParty, ...coveredPartiesOf(label), ...(fact.party ?? [])]),
          subject_id: fact.subject?.id ?? null,
          summary: fact.summary,
        }),
      ];
    });
  }
  if (streamId.startsWith('agreement-')) {
    const agreement = replayAgreement(events as AgreementEvent[]);
    const label = agreement ?? replayAgreement(facts as AgreementEvent[]);
    if (!label) return [];
    return entries.flatMap((entry) => {
      const event = entry.event as AgreementEvent;
      const fact = agreementFact(event, label);
      if (!fact) return [];
      const orphaned = () => {
        if (!agreement) return latestRetraction;
        if (!fact.commitment) return undefined;
        if (agreement.commitments.some((c) => c.id === fact.commitment)) return undefined;
        const creator = creatorOf('CommitmentRecorded', 'commitmentId', fact.commitment);
        return (creator && retractionOf.get(creator.event.metadata.eventId)) ?? latestRetraction;
      };
      const mark = retractionOf.get(event.metadata.eventId) ?? orphaned();
      return [
        row(streamId, entry, mark, {
          measure_id: null,
          agreement_id: aggregateId,
          code: label.code ?? null,
          title: label.title,
          kind: null,
          imposing_party: null,
          parties: unique([...label.parties, ...(fact.party ?? [])]),
          subject_id: fact.commitment ?? null,
          summary: fact.summary,
        }),
      ];
    });
  }
  return [];
}

function row(
  streamId: string,
  entry: TimelineEntry,
  mark: TimelineEntry | undefined,
  described: Pick<
    TimelineFactRow,
    | 'measure_id'
    | 'agreement_id'
    | 'code'
    | 'title'
    | 'kind'
    | 'imposing_party'
    | 'parties'
    | 'subject_id'
    | 'summary'
  >,
): TimelineFactRow {
  const { event } = entry;
  return {
    event_id: event.metadata.eventId,
    stream_id: streamId,
    version: entry.version,
    position: entry.position,
    type: event.type,
    effective_at: event.data.effectiveAt,
    recorded_at: entry.recordedAt,
    ...described,
    actor: event.metadata.actor ?? null,
    retracted_by: mark?.event.metadata.eventId ?? null,
    retracted_at: mark?.recordedAt ?? null,
  };
}

interface MeasureFact {
  summary: string;
  subject?: { kind: 'suspension' | 'exclusion'; id: string };
  agreement?: string;
  party?: string[];
}

/** What a measure event says on the timeline; undefined for events that are not facts on it. */
function measureFact(event: MeasureEvent, measure: Measure): MeasureFact | undefined {
  const name = measure.code ?? measure.title;
  const date = (instant: string | undefined) => dateIn(instant, measure.timeZone);
  const suspensionOf = (id: string) => measure.suspensions.find((s) => s.id === id);
  switch (event.type) {
    case 'MeasureThreatened':
      return { summary: `${name} threatened${rateText(event.data.measure.rate)}` };
    case 'MeasureAnnounced':
      return { summary: `${name} announced${rateText(event.data.measure?.rate)}` };
    case 'MeasureImplemented':
      return {
        summary: `${name} takes effect${rateText(event.data.measure?.rate ?? measure.rate)}`,
      };
    case 'MeasureRateAmended':
      return { summary: `${name}: rate set to ${formatRate(event.data.rate)}` };
    case 'MeasureScopeAmended':
      return { summary: `${name}: scope amended` };
    case 'SuspensionScheduled': {
      // With a fixed start, the SuspensionStarted that comes with it is the fact on the timeline.
      if (event.data.startsAt !== undefined) return undefined;
      return {
        summary: `${name}: suspension${partText(event.data.part)} scheduled, to start when a linked suspension takes effect`,
        subject: { kind: 'suspension', id: event.data.suspensionId },
        agreement: event.data.agreement,
      };
    }
    case 'SuspensionStarted': {
      const suspension = suspensionOf(event.data.suspensionId);
      const until = event.data.endsAt ? ` until ${date(event.data.endsAt)}` : '';
      return {
        summary: `${name}: ${suspension?.part ? `${suspension.part.percentPoints} points` : 'measure'} suspended${until}`,
        subject: { kind: 'suspension', id: event.data.suspensionId },
        agreement: suspension?.agreement,
      };
    }
    case 'SuspensionExtended': {
      const suspension = suspensionOf(event.data.suspensionId);
      const to = event.data.endsAt
        ? ` to ${date(event.data.endsAt)}`
        : event.data.extendedBy
          ? ` by ${event.data.extendedBy}`
          : '';
      return {
        summary: `${name}: suspension${partText(suspension?.part)} extended${to}`,
        subject: { kind: 'suspension', id: event.data.suspensionId },
        agreement: event.data.agreement ?? suspension?.agreement,
      };
    }
    case 'SuspensionLifted':
    case 'SuspensionLapsed': {
      const suspension = suspensionOf(event.data.suspensionId);
      const verb = event.type === 'SuspensionLifted' ? 'lifted' : 'lapsed';
      return {
        summary: `${name}: suspension${partText(suspension?.part)} ${verb}`,
        subject: { kind: 'suspension', id: event.data.suspensionId },
        agreement: suspension?.agreement,
      };
    }
    case 'ExclusionGranted':
      return {
        summary: `${name}: exclusion granted (${clip(event.data.description, 100)})`,
        subject: { kind: 'exclusion', id: event.data.exclusionId },
      };
    case 'ExclusionExtended':
      return {
        summary: `${name}: exclusion extended to ${date(event.data.endsAt)}`,
        subject: { kind: 'exclusion', id: event.data.exclusionId },
      };
    case 'ExclusionExpired':
      return {
        summary: `${name}: exclusion expired`,
        subject: { kind: 'exclusion', id: event.data.exclusionId },
      };
    case 'MeasureRevoked':
      return { summary: `${name} revoked` };
    case 'CountermeasureLinked':
      return { summary: `${name} recorded as a countermeasure` };
    case 'PartyClaimRecorded':
      return {
        summary: `${name}: ${event.data.party} claims: ${clip(event.data.statement, 140)}`,
        party: [event.data.party],
      };
    case 'EventRetracted':
      return undefined;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

interface AgreementFact {
  summary: string;
  commitment?: string;
  party?: string[];
}

function agreementFact(event: AgreementEvent, agreement: Agreement): AgreementFact | undefined {
  const name = agreement.code ?? agreement.title;
  switch (event.type) {
    case 'AgreementConcluded':
      return {
        summary: `${name} concluded${event.data.venue ? ` in ${event.data.venue}` : ''}`,
      };
    case 'CommitmentRecorded':
      return {
        summary: `${name}: ${event.data.obligor} commits (${event.data.kind}): ${clip(event.data.text, 120)}`,
        commitment: event.data.commitmentId,
      };
    case 'CommitmentStatusChanged': {
      const commitment = agreement.commitments.find((c) => c.id === event.data.commitmentId);
      const obligor = commitment ? `${commitment.obligor} ` : '';
      return {
        summary: `${name}: ${obligor}commitment ${event.data.status}${commitment ? ` (${clip(commitment.text, 80)})` : ''}`,
        commitment: event.data.commitmentId,
      };
    }
    case 'AgreementReaffirmed':
      return { summary: `${name} reaffirms an earlier agreement` };
    case 'PartyClaimRecorded':
      return {
        summary: `${name}: ${event.data.party} claims: ${clip(event.data.statement, 140)}`,
        party: [event.data.party],
      };
    case 'EventRetracted':
      return undefined;
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function formatRate(rate: Rate): string {
  const phased = rate.schedule?.length ? ', phased' : '';
  return rate.type === 'ad-valorem'
    ? `${rate.percent}%${phased}`
    : `${rate.currency} ${rate.amount} per ${rate.unit}${phased}`;
}

function rateText(rate: Rate | undefined): string {
  return rate ? ` at ${formatRate(rate)}` : '';
}

function partText(part: SuspendedPart | undefined): string {
  return part ? ` of ${part.percentPoints} points` : '';
}

/** The calendar date of an instant in the measure's legal time zone. */
function dateIn(instant: string | undefined, timeZone: string): string {
  if (!instant) return 'an unknown date';
  const at = new Date(instant);
  const calendar = calendarIn(timeZone);
  if (!calendar || Number.isNaN(at.getTime())) return instant;
  const parts = new Map(calendar.formatToParts(at).map((part) => [part.type, part.value]));
  return `${parts.get('year')?.padStart(4, '0')}-${parts.get('month')}-${parts.get('day')}`;
}

/** Null for a zone Intl does not know. */
const calendars = new Map<string, Intl.DateTimeFormat | null>();

/**
 * Dates through Intl, one formatter per zone and kept: luxon builds a DateTime (and asks Intl for
 * the zone's offset) at every call, which was a large part of computing a stream's rows.
 */
function calendarIn(timeZone: string): Intl.DateTimeFormat | null {
  let calendar = calendars.get(timeZone);
  if (calendar === undefined) {
    try {
      calendar = new Intl.DateTimeFormat('en-US', {
        timeZone,
        calendar: 'iso8601',
        numberingSystem: 'latn',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      });
    } catch {
      calendar = null;
    }
    calendars.set(timeZone, calendar);
  }
  return calendar;
}

function clip(text: string, length: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= length ? flat : `${flat.slice(0, length - 1)}…`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
