import {
  fullRateAt,
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
  partiesCoveredOn,
} from '@app/domain';
import type { RecordedEvent } from '@app/event-store';
import { toDomainEvent } from '@app/trade';

/** One event of a stream, with what the store added to it. */
export interface TimelineEntry {
  event: DomainEvent;
  version: number;
  position: number;
  recordedAt: string;
}

export function timelineEntryOf(event: RecordedEvent): TimelineEntry {
  return {
    event: toDomainEvent(event),
    version: event.version,
    position: event.position,
    recordedAt: event.recordedAt.toISOString(),
  };
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
  /** A `tstzmultirange` literal: the spans of transaction time in which the fact did not count. */
  retracted_during: string;
}

/**
 * The timeline rows of one stream, computed from all its events: one per fact that changes the
 * legal situation, labelled with the measure or agreement as it now stands, and marked when it
 * no longer counts — retracted itself, or about a suspension, exclusion or commitment (or a
 * whole measure) whose recording was retracted, or ended by the measure's revocation in force:
 * a fact dated at or after it that the decider would refuse now, recorded before it (marked with
 * that revocation; see `endedByRevocation`). `live` is the measure the entries fold to when the
 * caller has folded them already; otherwise the entries are replayed.
 *
 * Beside that mark, each row says in which spans of transaction time the fact did not count
 * (`retracted_during`): a retraction may itself be retracted, and that one in turn, so a fact
 * can drop out and come back any number of times. Those spans are found by asking the same
 * question of the stream as known at each instant something was recorded from its first strike
 * on (`firstStrikeOf`: before it, every fact counts), so a past `knownAt` sees exactly what the
 * stream as recorded by then says. A stream with no strike costs nothing more.
 */
export function timelineRowsOf(
  streamId: string,
  entries: TimelineEntry[],
  live?: Measure | null,
  stored?: StoredStanding,
): TimelineFactRow[] {
  const events = entries.map((entry) => entry.event);
  const aggregateId = streamId.slice(streamId.indexOf('-') + 1);
  const facts = events.filter((event) => event.type !== 'EventRetracted');
  if (streamId.startsWith('measure-')) {
    const measure = live === undefined ? replayMeasure(events as MeasureEvent[]) : live;
    // Labels come from the facts that stand; a measure that no longer stands keeps its last name.
    const label = measure ?? replayMeasure(facts as MeasureEvent[]);
    if (!label) return [];
    const described = entries.flatMap((entry) => {
      const fact = measureFact(entry.event as MeasureEvent, label);
      if (!fact) return [];
      const subject = fact.subject && measureSubject(fact.subject);
      return [{ entry, fact, subject }];
    });
    const standing = standingOf(entries, described, stored, {
      current: measure,
      fold: (known) => replayMeasure(known as MeasureEvent[]),
      holds: (folded, subject) =>
        (subject.kind === 'suspension' ? folded.suspensions : folded.exclusions).some(
          (item) => item.id === subject.id,
        ),
      supersededBy: endedByRevocation,
    });
    return described.map(({ entry, fact }) =>
      row(streamId, entry, standing.get(entry.event.metadata.eventId), {
        measure_id: aggregateId,
        agreement_id: fact.agreement ?? null,
        code: label.code ?? null,
        title: label.title,
        kind: label.kind,
        imposing_party: label.imposingParty,
        parties: unique([
          label.imposingParty,
          ...partiesConcerned(label, entry.event as MeasureEvent),
          ...(fact.party ?? []),
        ]),
        subject_id: fact.subject?.id ?? null,
        summary: fact.summary,
      }),
    );
  }
  if (streamId.startsWith('agreement-')) {
    const agreement = replayAgreement(events as AgreementEvent[]);
    const label = agreement ?? replayAgreement(facts as AgreementEvent[]);
    if (!label) return [];
    const described = entries.flatMap((entry) => {
      const fact = agreementFact(entry.event as AgreementEvent, label);
      if (!fact) return [];
      const subject: Subject | undefined = fact.commitment
        ? {
            kind: 'commitment',
            id: fact.commitment,
            creator: 'CommitmentRecorded',
            key: 'commitmentId',
          }
        : undefined;
      return [{ entry, fact, subject }];
    });
    const standing = standingOf(entries, described, stored, {
      current: agreement,
      fold: (known) => replayAgreement(known as AgreementEvent[]),
      holds: (folded, subject) => folded.commitments.some((c) => c.id === subject.id),
    });
    return described.map(({ entry, fact }) =>
      row(streamId, entry, standing.get(entry.event.metadata.eventId), {
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
    );
  }
  return [];
}

/** What a fact is about inside its measure or agreement, and the event that recorded that. */
interface Subject {
  kind: 'suspension' | 'exclusion' | 'commitment';
  id: string;
  creator: string;
  key: string;
}

function measureSubject(subject: NonNullable<MeasureFact['subject']>): Subject {
  return subject.kind === 'suspension'
    ? { ...subject, creator: 'SuspensionScheduled', key: 'suspensionId' }
    : { ...subject, creator: 'ExclusionGranted', key: 'exclusionId' };
}

interface DescribedFact {
  entry: TimelineEntry;
  subject?: Subject;
}

/** How a stream folds, for asking which of its facts stand. */
interface StreamFold<Folded> {
  /** The stream folded from all its entries. */
  current: Folded | null;
  fold(events: DomainEvent[]): Folded | null;
  /** Whether the folded stream still holds what a fact is about. */
  holds(folded: Folded, subject: Subject): boolean;
  /**
   * The facts among `known` that stand (none in `struck`) and yet no longer say what happens,
   * because a later recording ended them, each with the fact that did.
   */
  supersededBy?(known: TimelineEntry[], struck: ReadonlySet<string>): Map<string, TimelineEntry>;
}

/**
 * The spans of transaction time in which a stream's facts did not count, as its stored rows say
 * them, and the last instant they were computed for: the latest `recordedAt` of the events those
 * rows were computed from. Every instant up to it was asked about already; only later ones need
 * asking, as long as nothing new was recorded at or before it (the caller checks).
 */
export interface StoredStanding {
  through: string;
  /** By fact (event id), its `[from, until)` spans, `until` null for "still"; none: absent. */
  spans: ReadonlyMap<string, ReadonlyArray<readonly [string, string | null]>>;
}

/** Why a fact does not count now, and when it did not count in transaction time. */
interface Standing {
  /** The retraction that struck it (or what it hung on), as things stand now. */
  mark?: TimelineEntry;
  /** `[from, until)` spans of transaction time, `until` null for "still". */
  spans: Array<[string, string | null]>;
}

/**
 * Each fact's mark as things stand now and the spans of transaction time in which it did not
 * count: the stream is asked again as known at every instant something was recorded, from the
 * first retraction on, and a span runs from an instant at which the fact was struck to the
 * first at which it was not. With `stored`, the instants up to `stored.through` are taken as
 * stored (a fact whose span is still open there was struck at that instant) and only later
 * ones are asked: what the stream says as known at an instant depends on the events recorded
 * by then alone, so an append asks only about its own instants, not the stream's whole past.
 */
function standingOf<Folded>(
  entries: TimelineEntry[],
  facts: DescribedFact[],
  stored: StoredStanding | undefined,
  stream: StreamFold<Folded>,
): Map<string, Standing> {
  const now = marksOf(entries, facts, stream, stream.current);
  const standing = new Map<string, Standing>();
  for (const { entry } of facts) {
    const id = entry.event.metadata.eventId;
    standing.set(id, { mark: now.get(id), spans: [] });
  }
  const firstStrike = firstStrikeOf(entries);
  if (firstStrike === undefined) return standing;
  const instants = [...new Set(entries.map((entry) => entry.recordedAt))]
    .filter(
      (instant) => instant >= firstStrike && (stored === undefined || instant > stored.through),
    )
    .sort();
  const hiddenSince = new Map<string, string>();
  for (const [id, spans] of stored?.spans ?? []) {
    const known = standing.get(id);
    if (!known) continue;
    for (const [from, until] of spans) {
      if (until === null) hiddenSince.set(id, from);
      else known.spans.push([from, until]);
    }
  }
  for (const instant of instants) {
    const known = entries.filter((entry) => entry.recordedAt <= instant);
    const marks =
      known.length === entries.length
        ? now
        : marksOf(known, facts, stream, stream.fold(known.map((entry) => entry.event)));
    for (const { entry } of facts) {
      const id = entry.event.metadata.eventId;
      const since = hiddenSince.get(id);
      if (marks.has(id) && since === undefined) hiddenSince.set(id, instant);
      else if (!marks.has(id) && since !== undefined) {
        standing.get(id)?.spans.push([since, instant]);
        hiddenSince.delete(id);
      }
    }
  }
  for (const [id, since] of hiddenSince) standing.get(id)?.spans.push([since, null]);
  return standing;
}

/**
 * The first instant from which one of the stream's facts may not count: the recording of its
 * first retraction, or the first instant at which a revocation and a fact it may end (see
 * `endedByRevocation`) were both recorded. Before it every fact counts; undefined when there is
 * none. A revoked measure with nothing on record from its revocation's date on costs nothing
 * more.
 */
export function firstStrikeOf(entries: readonly TimelineEntry[]): string | undefined {
  let first: string | undefined;
  const earlier = (instant: string) => {
    if (first === undefined || instant < first) first = instant;
  };
  for (const entry of entries) {
    if (entry.event.type === 'EventRetracted') earlier(entry.recordedAt);
  }
  const revocations = entries.filter((entry) => entry.event.type === 'MeasureRevoked');
  if (!revocations.length) return first;
  // Whatever stands, a fact is judged by its own date or by a start recorded with it.
  const startedWith = startsRecordedWith(entries);
  const latestJudged = (entry: TimelineEntry) =>
    Math.max(Date.parse(entry.event.data.effectiveAt), takesEffectAt(entry, startedWith));
  for (const revocation of revocations) {
    const revokedAt = Date.parse(revocation.event.data.effectiveAt);
    for (const entry of entries) {
      if (entry === revocation || !ENDED_BY_REVOCATION.has(entry.event.type)) continue;
      if (latestJudged(entry) < revokedAt) continue;
      earlier(entry.recordedAt > revocation.recordedAt ? entry.recordedAt : revocation.recordedAt);
    }
  }
  return first;
}

/**
 * The kinds of fact the decider refuses once the measure is revoked by the date they take effect
 * (`ensureNotRevokedBy`, and for a lapse `isEndRevoked`): a revocation ends the measure from its
 * date, and nothing of it takes effect then or later. Liftings, exclusions' extensions and
 * expiries, links, claims and threats are not checked against a revocation, and stay.
 */
const ENDED_BY_REVOCATION: ReadonlySet<string> = new Set<MeasureEvent['type']>([
  'MeasureAnnounced',
  'MeasureImplemented',
  'MeasureRateAmended',
  'MeasureScopeAmended',
  'MeasureRevoked',
  'SuspensionScheduled',
  'SuspensionStarted',
  'SuspensionExtended',
  'SuspensionLapsed',
  'ExclusionGranted',
]);

/**
 * A measure is revoked from its earliest standing revocation (the domain's evolve). Every fact
 * the decider would refuse once that revocation is on record, because it takes effect at or
 * after it, is marked with it: a later revocation (the decider takes a second one only when it
 * brings the first forward), and the measure's entry into force, amendments, suspensions'
 * starts, extensions and lapses, and exclusions recorded before the revocation for dates it
 * reaches (a measure withdrawn before it took effect, as the US duties on Mexico in 2019,
 * never took effect). So the timeline shows the measure revoked once, where its status says,
 * and nothing of it in effect after. Retract the revocation and they are back. Of two
 * revocations on the same date (possible only through retractions of retractions), the first
 * recorded stands.
 */
function endedByRevocation(
  known: TimelineEntry[],
  struck: ReadonlySet<string>,
): Map<string, TimelineEntry> {
  const standing = known.filter((entry) => !struck.has(entry.event.metadata.eventId));
  const revocations = standing.filter((entry) => entry.event.type === 'MeasureRevoked');
  if (!revocations.length) return new Map();
  const inForce = revocations.reduce((earliest, entry) =>
    Date.parse(entry.event.data.effectiveAt) < Date.parse(earliest.event.data.effectiveAt)
      ? entry
      : earliest,
  );
  const revokedAt = Date.parse(inForce.event.data.effectiveAt);
  const startedWith = startsRecordedWith(standing);
  const ended = new Map<string, TimelineEntry>();
  for (const entry of standing) {
    if (entry === inForce || !ENDED_BY_REVOCATION.has(entry.event.type)) continue;
    if (takesEffectAt(entry, startedWith) >= revokedAt) {
      ended.set(entry.event.metadata.eventId, inForce);
    }
  }
  return ended;
}

/**
 * The instant the decider judges a fact by against a revocation: its `effectiveAt`, but for a
 * conditional suspension whose trigger had started when it was scheduled, the start recorded
 * with it, as `ensureDecidedBeforeRevocation` does. One still waiting when scheduled is judged
 * by its decision: its start, when the trigger gives one, is a fact of its own, judged by itself.
 */
function takesEffectAt(entry: TimelineEntry, startedWith: ReadonlyMap<string, number>): number {
  const event = entry.event as MeasureEvent;
  const start =
    event.type === 'SuspensionScheduled'
      ? startedWith.get(`${event.data.suspensionId}@${entry.recordedAt}`)
      : undefined;
  return start ?? Date.parse(event.data.effectiveAt);
}

/**
 * Each start among `entries` by its suspension and the instant it was recorded at: a start
 * appended with its scheduling (one append, one instant) is the one it was decided with.
 */
function startsRecordedWith(entries: readonly TimelineEntry[]): Map<string, number> {
  const starts = new Map<string, number>();
  for (const entry of entries) {
    const event = entry.event as MeasureEvent;
    if (event.type !== 'SuspensionStarted') continue;
    starts.set(
      `${event.data.suspensionId}@${entry.recordedAt}`,
      Date.parse(event.data.effectiveAt),
    );
  }
  return starts;
}

/**
 * The facts among `known` that do not count in the stream made of `known` alone, each with the
 * retraction that struck it: its own standing retraction, the one of what it was about, or,
 * when the measure or agreement no longer stands at all, the latest standing retraction; else,
 * for a fact a revocation ended, the revocation in force.
 */
function marksOf<Folded>(
  known: TimelineEntry[],
  facts: DescribedFact[],
  stream: StreamFold<Folded>,
  folded: Folded | null,
): Map<string, TimelineEntry> {
  const struck = retractedEventIds(known.map((entry) => entry.event));
  /** Each retracted event's standing retraction. */
  const retractionOf = new Map<string, TimelineEntry>();
  let latestRetraction: TimelineEntry | undefined;
  for (const entry of known) {
    const { event } = entry;
    if (event.type !== 'EventRetracted' || struck.has(event.metadata.eventId)) continue;
    retractionOf.set((event as EventRetracted).data.eventId, entry);
    latestRetraction = entry;
  }
  const knownIds = new Set(known.map((entry) => entry.event.metadata.eventId));
  const orphaned = (subject: Subject | undefined) => {
    if (!folded) return latestRetraction;
    if (!subject || stream.holds(folded, subject)) return undefined;
    const creator = known.find(
      (entry) =>
        entry.event.type === subject.creator &&
        (entry.event.data as unknown as Record<string, unknown>)[subject.key] === subject.id,
    );
    return (creator && retractionOf.get(creator.event.metadata.eventId)) ?? latestRetraction;
  };
  const superseded = stream.supersededBy?.(known, struck) ?? new Map<string, TimelineEntry>();
  const marks = new Map<string, TimelineEntry>();
  for (const { entry, subject } of facts) {
    const id = entry.event.metadata.eventId;
    if (!knownIds.has(id)) continue;
    const mark = retractionOf.get(id) ?? orphaned(subject) ?? superseded.get(id);
    if (mark) marks.set(id, mark);
  }
  return marks;
}

function row(
  streamId: string,
  entry: TimelineEntry,
  standing: Standing | undefined,
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
    retracted_by: standing?.mark?.event.metadata.eventId ?? null,
    retracted_at: standing?.mark?.recordedAt ?? null,
    retracted_during: multirangeOf(standing?.spans ?? []),
  };
}

/**
 * Whose goods a measure's fact is about: its target parties and the territories its scope in
 * force when the fact took effect includes (HK under the fentanyl duty on China), as the measure
 * list answers a party on `asOf`. A scope that took Hong Kong in later does not make the
 * measure's earlier facts Hong Kong's. An amendment of the scope is about the territories of the
 * scope it replaces too: the one that takes Hong Kong out is news for Hong Kong.
 */
function partiesConcerned(measure: Measure, event: MeasureEvent): string[] {
  const at = event.data.effectiveAt;
  const parties = partiesCoveredOn(measure, at);
  if (event.type !== 'MeasureScopeAmended') return parties;
  const before = new Date(Date.parse(at) - 1);
  return [...new Set([...parties, ...partiesCoveredOn(measure, before)])].sort();
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
        // The rate of that day, as the facts now stand: not the rate amended to since.
        summary: `${name} takes effect${rateText(event.data.measure?.rate ?? fullRateAt(measure, event.data.effectiveAt) ?? measure.rate)}`,
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

function multirangeOf(spans: Array<[string, string | null]>): string {
  const ranges = spans.map(([from, until]) => `["${from}",${until === null ? '' : `"${until}"`})`);
  return `{${ranges.join(',')}}`;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
