/**
 * A seeded, repeatable history of trade measures for the read-side benchmarks: measures are
 * recorded over nine years and then amended, suspended, extended, lifted, lapsed, excluded,
 * linked to countermeasures, disputed, retracted and revoked, each at its own pace; a few
 * agreements carry commitments and are named by suspensions. The whole history is yielded in
 * recording order, streams interleaved as they would be in the global log.
 *
 * Events are built in the shapes the domain's deciders produce (typed against its event types,
 * and only where the decider would accept the command: a suspension is extended while it runs,
 * a part never exceeds the rate, …). Running 1,000,000 commands through the deciders
 * themselves takes minutes here, most of it luxon parsing instants.
 *
 * Same seed and sizes, same events, ids included.
 */
import type {
  AgreementConcludedData,
  CommitmentRecordedData,
  CommitmentStatusChangedData,
  CountermeasureLinkedData,
  EventRetractedData,
  ExclusionExtendedData,
  ExclusionGrantedData,
  MeasureDefinition,
  MeasureKind,
  MeasureRateAmendedData,
  MeasureRevokedData,
  MeasureScopeAmendedData,
  PartyClaimRecordedData,
  Rate,
  Source,
  SuspensionExtendedData,
  SuspensionLapsedData,
  SuspensionLiftedData,
  SuspensionScheduledData,
  SuspensionStartedData,
} from '@app/domain';
import type { NewEvent } from '@app/event-store';

export interface HistoryOptions {
  seed: number;
  measures: number;
  /** Total events, agreements' included; the history stops at exactly this many. */
  events: number;
  /** Agreement streams; defaults to one per 200 measures. */
  agreements?: number;
}

/** One command's events for one stream, as `accord_append` takes them. */
export interface GeneratedAppend {
  streamId: string;
  /** The stream's version before this append (0: the append creates it). */
  expectedVersion: number;
  events: NewEvent[];
}

export interface GeneratedCode {
  kind: 'measure' | 'agreement';
  code: string;
  id: string;
}

/** An event as a decider returns it: type and data (the payload), before its metadata. */
interface Fact {
  type: string;
  data: { effectiveAt: string; sources: Source[] };
}

const DAY = 86_400_000;
const FIRST_RECORD = Date.parse('2017-01-01T00:00:00Z');
const LAST_RECORD = Date.parse('2025-12-31T00:00:00Z');
const ACTORS = ['key:analyst-desk', 'key:import-bot', 'key:editor-policy', 'key:editor-asia'];

/** Who imposes measures, weighted by how many they impose. */
const IMPOSERS: [string, number][] = [
  ['US', 30],
  ['CN', 16],
  ['IN', 7],
  ['CA', 5],
  ['MX', 4],
  ['BR', 4],
  ['TR', 4],
  ['GB', 4],
  ['DE', 3],
  ['FR', 3],
  ['JP', 3],
  ['KR', 3],
  ['AU', 3],
  ['ZA', 2],
  ['VN', 2],
  ['RU', 2],
  ['AR', 2],
  ['ID', 2],
];
const KINDS: [MeasureKind, number][] = [
  ['tariff', 56],
  ['export-control', 11],
  ['entity-list', 8],
  ['investigation', 10],
  ['sanction', 6],
  ['port-fee', 3],
  ['other', 6],
];
const PRODUCTS = [
  ['steel and aluminium products', ['7206', '7208', '7210', '7601', '7604']],
  ['passenger vehicles and parts', ['8703', '8708.29', '8708.99']],
  ['semiconductors and integrated circuits', ['8541', '8542.31', '8542.32']],
  ['soybeans, pork and other farm goods', ['1201', '0203', '1005']],
  ['solar cells and modules', ['8541.42', '8541.43']],
  ['lithium-ion batteries', ['8507.60', '8507.80']],
  ['critical minerals (gallium, germanium, graphite)', ['8112.92', '2825.60', '2504']],
  ['textiles and apparel', ['6109', '6110', '6203', '6204']],
  ['machinery and electrical equipment', ['8471', '8517', '8504']],
  ['medical devices and pharmaceuticals', ['9018', '3004']],
  ['ships and ship-to-shore cranes', ['8901', '8426.19']],
  ['seafood and fish products', ['0303', '0304', '1604']],
] as const;
const ISSUERS = [
  ['Federal Register', 'FR', true, 'en'],
  ['Office of the US Trade Representative', 'USTR', true, 'en'],
  ['Ministry of Commerce of the PRC (MOFCOM)', 'MOFCOM', true, 'zh-Hans'],
  ['Customs Tariff Commission of the State Council', 'TCSC', true, 'zh-Hans'],
  ['Official Journal of the European Union', 'OJ L', true, 'en'],
  ['Canada Gazette', 'C.Gaz.', true, 'en'],
  ['Reuters', 'Reuters', false, 'en'],
  ['Financial Times', 'FT', false, 'en'],
  ['Global Trade Alert', 'GTA', false, 'en'],
] as const;

/** mulberry32: small, fast, and the same on every machine. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** What the generator remembers of a measure: enough to issue only commands that would pass. */
interface LiveMeasure {
  id: string;
  version: number;
  /** Events still wanted from this stream. */
  budget: number;
  nextAt: number;
  imposingParty: string;
  targetParties: string[];
  percent?: number;
  specific: boolean;
  inForce: boolean;
  revoked: boolean;
  /** The one running suspension, if any. */
  suspension?: { id: string; endsAt: number; part?: number; sources: Source[] };
  exclusions: { id: string; endsAt: number }[];
  /** Scope amendments, which a retraction may strike. */
  retractable: string[];
  linked: Set<string>;
}

interface LiveAgreement {
  id: string;
  parties: string[];
}

export class MeasureHistory {
  readonly codes: GeneratedCode[] = [];
  /** Events per type, once generated. */
  readonly eventTypes = new Map<string, number>();
  measuresRecorded = 0;

  private readonly random: () => number;
  private readonly agreements: LiveAgreement[] = [];
  /** Recently recorded measures, by imposing party: what a countermeasure can answer. */
  private readonly recentByParty = new Map<string, LiveMeasure[]>();
  private emitted = 0;

  constructor(private readonly options: HistoryOptions) {
    this.random = prng(options.seed);
  }

  /** The appends in recording order; exactly `events` events in all. */
  *appends(): Generator<GeneratedAppend> {
    const { measures, events } = this.options;
    const agreementCount = this.options.agreements ?? Math.max(1, Math.floor(measures / 200));
    const span = LAST_RECORD - FIRST_RECORD;
    // Recording instants of new streams: spread evenly, with jitter.
    const startOf = (i: number, n: number) =>
      FIRST_RECORD + Math.floor(((i + this.random()) / n) * span);
    const agreementStarts = Array.from({ length: agreementCount }, (_, i) =>
      startOf(i, agreementCount),
    );
    // Each measure's share of the events: a long tail (most change a few times, some dozens of
    // times), over-provisioned so that the history runs out of budget only near its end.
    const meanEvents = (events * 1.25) / measures;
    const queue = new MinQueue<LiveMeasure>();
    let nextMeasure = 0;
    let nextAgreement = 0;

    while (this.emitted < events) {
      const measureStart = nextMeasure < measures ? startOf(nextMeasure, measures) : Infinity;
      const agreementStart = agreementStarts[nextAgreement] ?? Infinity;
      const followUp = queue.peek()?.nextAt ?? Infinity;
      const at = Math.min(measureStart, agreementStart, followUp);
      if (at === Infinity) break;
      // New streams are recorded whatever the budget; follow-ups only while some is left.
      const reserve = (measures - nextMeasure) * 4 + (agreementCount - nextAgreement) * 7;
      if (at === agreementStart) {
        nextAgreement += 1;
        yield* this.agreementHistory(at);
      } else if (at === measureStart) {
        nextMeasure += 1;
        const { live, append } = this.recordMeasure(nextMeasure, at, meanEvents);
        yield append;
        if (live.budget > 0) queue.push(live, live.nextAt);
      } else {
        const live = queue.pop() as LiveMeasure;
        const append = this.followUp(live, at, events - this.emitted - reserve);
        if (append) yield append;
        if (live.budget > 0 && !live.revoked) {
          live.nextAt = at + this.gap(35);
          queue.push(live, live.nextAt);
        }
      }
    }
  }

  private recordMeasure(index: number, at: number, meanEvents: number) {
    const id = this.uuid();
    const imposingParty = this.weighted(IMPOSERS);
    const targetParties = this.targetsFor(imposingParty);
    const kind = this.weighted(KINDS);
    const [products, hsCodes] = this.pick(PRODUCTS);
    const code = `${imposingParty}-${kind.toUpperCase()}-${targetParties[0]}-${String(index).padStart(6, '0')}`;
    const rate = this.initialRate(kind);
    const year = new Date(at).getUTCFullYear();
    const definition: MeasureDefinition = {
      code,
      title: `${NAMES[kind]} on ${products} from ${targetParties.join(', ')} (${imposingParty})`,
      kind,
      imposingParty,
      targetParties,
      legalBasis: this.pick(LEGAL_BASES[imposingParty] ?? GENERIC_LEGAL_BASES),
      instrument: `${this.pick(ISSUERS)[1]} ${year}/${1000 + index}`,
      summary:
        `${NAMES[kind]} imposed by ${imposingParty} on ${products} originating in ` +
        `${targetParties.join(' and ')}, adopted after a review of import volumes and ` +
        `${this.pick(REASONS)}. Covers the listed tariff headings; exclusions may be granted ` +
        'on request.',
      ...(rate ? { rate } : {}),
      scope: { description: `${products} of ${targetParties.join(', ')}`, hsCodes: [...hsCodes] },
      timeZone: TIME_ZONES[imposingParty] ?? 'UTC',
    };
    const sources = this.sources(at, 2);
    // RecordMeasure: one event per stage given, the terms on the first; then its links.
    const stages: [string, number][] = [];
    if (this.random() < 0.15) stages.push(['MeasureThreatened', at - this.gap(30)]);
    stages.push(['MeasureAnnounced', at]);
    const inForce = !(kind === 'investigation' && this.random() < 0.5);
    if (inForce) stages.push(['MeasureImplemented', at + this.gap(20)]);
    const facts: Fact[] = stages.map(([type, when], i) => ({
      type,
      data: {
        measureId: id,
        ...(i === 0 ? { measure: definition } : {}),
        effectiveAt: iso(when),
        sources,
      },
    }));
    const live: LiveMeasure = {
      id,
      version: 0,
      budget: Math.min(80, Math.round(-Math.log(1 - this.random()) * meanEvents)),
      nextAt: at + this.gap(35),
      imposingParty,
      targetParties,
      percent: rate?.type === 'ad-valorem' ? rate.percent : undefined,
      specific: rate?.type === 'specific',
      inForce,
      revoked: false,
      exclusions: [],
      retractable: [],
      linked: new Set(),
    };
    const answered = (this.recentByParty.get(targetParties[0]) ?? []).find((candidate) =>
      candidate.targetParties.includes(imposingParty),
    );
    if (answered && this.random() < 0.1) {
      live.linked.add(answered.id);
      facts.push(
        fact<CountermeasureLinkedData>('CountermeasureLinked', {
          respondsTo: answered.id,
          effectiveAt: iso(at),
          sources,
        }),
      );
    }
    this.codes.push({ kind: 'measure', code, id });
    const recent = this.recentByParty.get(imposingParty) ?? [];
    recent.unshift(live);
    if (recent.length > 50) recent.pop();
    this.recentByParty.set(imposingParty, recent);
    this.measuresRecorded += 1;
    const append = this.toAppend('measure', live, facts);
    live.budget -= facts.length;
    return { live, append };
  }

  /** One follow-up command's events for a measure, or nothing when none fits. */
  private followUp(live: LiveMeasure, at: number, budget: number): GeneratedAppend | undefined {
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const facts = this.nextFacts(live, at);
      if (!facts || facts.length > budget) continue;
      live.budget -= facts.length;
      return this.toAppend('measure', live, facts);
    }
    live.budget -= 1;
    return undefined;
  }

  /** The events of a command the decider would accept in the measure's current state. */
  private nextFacts(live: LiveMeasure, at: number): Fact[] | undefined {
    const sources = this.sources(at, this.random() < 0.3 ? 2 : 1);
    const now = iso(at);
    const suspension = live.suspension;
    if (suspension && suspension.endsAt <= at) {
      // The end has passed: the worker records the lapse (or an extension came too late).
      live.suspension = undefined;
      return [
        fact<SuspensionLapsedData>('SuspensionLapsed', {
          suspensionId: suspension.id,
          effectiveAt: iso(suspension.endsAt),
          sources: suspension.sources,
        }),
      ];
    }
    const roll = this.random() * 100;
    if (roll < 20 && (live.percent !== undefined || live.specific)) {
      // Rates go up (or stay): an amendment must still cover any suspended part.
      const rate: Rate =
        live.percent !== undefined
          ? { type: 'ad-valorem', percent: (live.percent += this.pick([0, 5, 10, 15, 25])) }
          : {
              type: 'specific',
              amount: 50 + Math.floor(this.random() * 100),
              currency: 'USD',
              unit: 'net ton',
            };
      return [
        fact<MeasureRateAmendedData>('MeasureRateAmended', {
          rate,
          effectiveAt: iso(at + this.gap(15)),
          sources,
        }),
      ];
    }
    if (roll < 28) {
      const [products, hsCodes] = this.pick(PRODUCTS);
      const amended = fact<MeasureScopeAmendedData>('MeasureScopeAmended', {
        scope: { description: `Extended to ${products}`, hsCodes: [...hsCodes] },
        effectiveAt: iso(at + this.gap(10)),
        sources,
      });
      return [amended];
    }
    if (roll < 46 && !suspension && live.inForce) {
      const suspensionId = this.uuid();
      const startsAt = at + this.gap(10);
      const endsAt = startsAt + (90 + Math.floor(this.random() * 300)) * DAY;
      const part =
        live.percent && this.random() < 0.6
          ? Math.max(1, Math.floor(live.percent * this.random()))
          : undefined;
      const agreement = this.agreementOf(live.imposingParty);
      live.suspension = { id: suspensionId, endsAt, part, sources };
      return [
        fact<SuspensionScheduledData>('SuspensionScheduled', {
          suspensionId,
          startsAt: iso(startsAt),
          endsAt: iso(endsAt),
          ...(part ? { part: { percentPoints: part } } : {}),
          ...(agreement ? { agreement } : {}),
          reinstatesAutomatically: true,
          effectiveAt: now,
          sources,
        }),
        fact<SuspensionStartedData>('SuspensionStarted', {
          suspensionId,
          startsAt: iso(startsAt),
          endsAt: iso(endsAt),
          effectiveAt: iso(startsAt),
          sources,
        }),
      ];
    }
    if (roll < 64 && suspension) {
      const endsAt = suspension.endsAt + this.pick([30, 90, 180]) * DAY;
      const extended = fact<SuspensionExtendedData>('SuspensionExtended', {
        suspensionId: suspension.id,
        endsAt: iso(endsAt),
        previousEndsAt: iso(suspension.endsAt),
        effectiveAt: now,
        sources,
      });
      live.suspension = { ...suspension, endsAt, sources };
      return [extended];
    }
    if (roll < 68 && suspension) {
      live.suspension = undefined;
      return [
        fact<SuspensionLiftedData>('SuspensionLifted', {
          suspensionId: suspension.id,
          effectiveAt: iso(at + this.gap(5)),
          sources,
        }),
      ];
    }
    if (roll < 78) {
      const open = live.exclusions.filter((exclusion) => exclusion.endsAt > at);
      if (open.length && this.random() < 0.4) {
        const exclusion = this.pick(open);
        const endsAt = exclusion.endsAt + 365 * DAY;
        const extended = fact<ExclusionExtendedData>('ExclusionExtended', {
          exclusionId: exclusion.id,
          endsAt: iso(endsAt),
          previousEndsAt: iso(exclusion.endsAt),
          effectiveAt: now,
          sources,
        });
        exclusion.endsAt = endsAt;
        return [extended];
      }
      const [products, hsCodes] = this.pick(PRODUCTS);
      const exclusion = { id: this.uuid(), endsAt: at + 365 * DAY };
      live.exclusions.push(exclusion);
      return [
        fact<ExclusionGrantedData>('ExclusionGranted', {
          exclusionId: exclusion.id,
          description: `Exclusion for ${products} certified as not available domestically`,
          hsCodes: [hsCodes[0]],
          endsAt: iso(exclusion.endsAt),
          effectiveAt: now,
          sources,
        }),
      ];
    }
    if (roll < 85) {
      const party = live.targetParties[0];
      return [
        fact<PartyClaimRecordedData>('PartyClaimRecorded', {
          claimId: this.uuid(),
          party,
          statement: `${party} disputes the basis of the measure and reserves its rights under WTO rules.`,
          about: 'legal basis',
          effectiveAt: now,
          sources,
        }),
      ];
    }
    if (roll < 89) {
      const answered = (this.recentByParty.get(live.targetParties[0]) ?? []).find(
        (m) =>
          m.id !== live.id &&
          m.targetParties.includes(live.imposingParty) &&
          !live.linked.has(m.id),
      );
      if (!answered) return undefined;
      live.linked.add(answered.id);
      return [
        fact<CountermeasureLinkedData>('CountermeasureLinked', {
          respondsTo: answered.id,
          effectiveAt: now,
          sources,
        }),
      ];
    }
    if (roll < 92) {
      const eventId = live.retractable.pop();
      if (!eventId) return undefined;
      return [
        fact<EventRetractedData>('EventRetracted', {
          eventId,
          reason: 'Recorded from a draft notice that was never published',
          effectiveAt: now,
          sources,
        }),
      ];
    }
    if (roll < 93.5) {
      live.revoked = true;
      return [
        fact<MeasureRevokedData>('MeasureRevoked', {
          effectiveAt: iso(at + this.gap(20)),
          sources,
        }),
      ];
    }
    return undefined;
  }

  /** An agreement: concluded, its commitments, and a status change or two later on. */
  private *agreementHistory(at: number): Generator<GeneratedAppend> {
    const id = this.uuid();
    const first = this.weighted(IMPOSERS);
    const parties = [first, this.targetsFor(first)[0]];
    const code = `AGR-${parties.join('-')}-${String(this.agreements.length + 1).padStart(4, '0')}`;
    const live = { id, version: 0 };
    const concludedAt = iso(at);
    yield this.toAppend('agreement', live, [
      fact<AgreementConcludedData>('AgreementConcluded', {
        agreementId: id,
        code,
        title: `Joint arrangement between ${parties.join(' and ')} on tariffs and market access`,
        parties,
        venue: this.pick(['Geneva', 'Stockholm', 'Kuala Lumpur', 'London', 'Busan']),
        summary:
          'Each side suspends part of its additional duties for a year and commits to ' +
          'purchases and to addressing export controls.',
        effectiveAt: concludedAt,
        sources: this.sources(at, 2),
      }),
    ]);
    const commitments: string[] = [];
    const count = 2 + Math.floor(this.random() * 3);
    for (let i = 0; i < count; i += 1) {
      const commitmentId = this.uuid();
      commitments.push(commitmentId);
      yield this.toAppend('agreement', live, [
        fact<CommitmentRecordedData>('CommitmentRecorded', {
          commitmentId,
          obligor: parties[i % parties.length],
          kind: this.pick(['suspend', 'purchase', 'adjust', 'cooperate', 'extend'] as const),
          text: `Commitment ${i + 1}: ${this.pick(REASONS)}`,
          dueAt: iso(at + (90 + Math.floor(this.random() * 365)) * DAY),
          effectiveAt: concludedAt,
          sources: this.sources(at, 1),
        }),
      ]);
    }
    for (const commitmentId of commitments.slice(0, 2)) {
      if (this.random() < 0.4) continue;
      const later = at + this.gap(120);
      yield this.toAppend('agreement', live, [
        fact<CommitmentStatusChangedData>('CommitmentStatusChanged', {
          commitmentId,
          status: this.pick(['fulfilled', 'lapsed', 'breached'] as const),
          previousStatus: 'pending',
          note: 'Assessed at the review meeting',
          effectiveAt: iso(later),
          sources: this.sources(later, 1),
        }),
      ]);
    }
    this.agreements.push({ id, parties });
    this.codes.push({ kind: 'agreement', code, id });
  }

  /** What AggregateWriter stores: payload = data; metadata with the actor and the sources. */
  private toAppend(
    kind: 'measure' | 'agreement',
    live: { id: string; version: number; retractable?: string[] },
    facts: Fact[],
  ): GeneratedAppend {
    const append: GeneratedAppend = {
      streamId: `${kind}-${live.id}`,
      expectedVersion: live.version,
      events: [],
    };
    const actor = ACTORS[Math.floor(this.random() * ACTORS.length)];
    const correlationId = this.uuid();
    for (const { type, data } of facts) {
      const eventId = this.uuid();
      if (type === 'MeasureScopeAmended') live.retractable?.push(eventId);
      this.eventTypes.set(type, (this.eventTypes.get(type) ?? 0) + 1);
      append.events.push({
        eventId,
        type,
        schemaVersion: 1,
        payload: data,
        metadata: { actor, correlationId, sources: data.sources },
      });
    }
    live.version += facts.length;
    this.emitted += facts.length;
    return append;
  }

  private agreementOf(party: string): string | undefined {
    if (this.random() > 0.2) return undefined;
    const candidates = this.agreements.slice(-40).filter((a) => a.parties.includes(party));
    return candidates.length ? this.pick(candidates).id : undefined;
  }

  private initialRate(kind: MeasureKind): Rate | undefined {
    if (kind === 'tariff') {
      return { type: 'ad-valorem', percent: this.pick([5, 7.5, 10, 15, 20, 25, 34, 50, 100]) };
    }
    if (kind === 'port-fee') {
      return {
        type: 'specific',
        amount: this.pick([18, 50, 120]),
        currency: 'USD',
        unit: 'net ton',
      };
    }
    return undefined;
  }

  private targetsFor(imposer: string): string[] {
    const first = imposer === 'CN' ? 'US' : this.random() < 0.55 ? 'CN' : this.weighted(IMPOSERS);
    const targets = [first === imposer ? (imposer === 'US' ? 'CN' : 'US') : first];
    if (this.random() < 0.2) {
      const second = this.weighted(IMPOSERS);
      if (second !== imposer && !targets.includes(second)) targets.push(second);
    }
    return targets;
  }

  private sources(at: number, count: number): Source[] {
    return Array.from({ length: count }, () => {
      const [issuer, prefix, official, language] = this.pick(ISSUERS);
      const number = 1000 + Math.floor(this.random() * 90_000);
      return {
        issuer,
        title: `${prefix} notice ${number}: ${this.pick(REASONS)}`,
        url: `https://example.org/${prefix.toLowerCase().replace(/[^a-z]/g, '')}/${number}`,
        documentNumber: `${prefix} ${number}`,
        publishedAt: iso(at).slice(0, 10),
        official,
        language,
        confidence: official ? 'H' : 'M',
      };
    });
  }

  /** An exponentially distributed delay with the given mean, in days. */
  private gap(meanDays: number): number {
    return Math.max(1, Math.round(-Math.log(1 - this.random()) * meanDays * DAY));
  }

  private pick<T>(values: readonly T[]): T {
    return values[Math.floor(this.random() * values.length)];
  }

  private weighted<T>(entries: [T, number][]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = this.random() * total;
    for (const [value, weight] of entries) {
      roll -= weight;
      if (roll < 0) return value;
    }
    return entries[entries.length - 1][0];
  }

  /** A version 4 UUID drawn from the seeded generator. */
  private uuid(): string {
    let hex = '';
    for (let i = 0; i < 4; i += 1) {
      hex += Math.floor(this.random() * 4_294_967_296)
        .toString(16)
        .padStart(8, '0');
    }
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return (
      `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-` +
      `${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
    );
  }
}

function fact<Data extends { effectiveAt: string; sources: Source[] }>(
  type: string,
  data: Data,
): Fact {
  return { type, data };
}

const iso = (millis: number): string => new Date(millis).toISOString();

const NAMES: Record<MeasureKind, string> = {
  tariff: 'Additional ad valorem duty',
  'export-control': 'Export licence requirement',
  'entity-list': 'Entity list designation',
  investigation: 'Anti-dumping and countervailing investigation',
  sanction: 'Blocking sanctions',
  'port-fee': 'Port service fee on vessels',
  other: 'Procurement restriction',
};
const LEGAL_BASES: Record<string, string[]> = {
  US: ['Trade Act of 1974, Section 301', 'IEEPA', 'Trade Expansion Act of 1962, Section 232'],
  CN: ['Foreign Trade Law, Article 7', 'Export Control Law', 'Anti-Foreign Sanctions Law'],
  IN: ['Customs Tariff Act 1975, Section 8B', 'Foreign Trade (Development and Regulation) Act'],
};
const GENERIC_LEGAL_BASES = ['Customs Act, safeguard provisions', 'Special Import Measures Act'];
const REASONS = [
  'injury to the domestic industry found by the investigating authority',
  'national security concerns over supply chains',
  'retaliation for measures affecting agricultural exports',
  'a surge of imports diverted from other markets',
  'subsidies found to distort prices',
  'the outcome of consultations between the parties',
];
const TIME_ZONES: Record<string, string> = {
  US: 'America/New_York',
  CN: 'Asia/Shanghai',
  IN: 'Asia/Kolkata',
  CA: 'America/Toronto',
  MX: 'America/Mexico_City',
  BR: 'America/Sao_Paulo',
  TR: 'Europe/Istanbul',
  GB: 'Europe/London',
  DE: 'Europe/Berlin',
  FR: 'Europe/Paris',
  JP: 'Asia/Tokyo',
  KR: 'Asia/Seoul',
  AU: 'Australia/Sydney',
};

/** A binary min-heap on a numeric key. */
class MinQueue<T> {
  private readonly items: { key: number; value: T }[] = [];

  peek(): T | undefined {
    return this.items[0]?.value;
  }

  push(value: T, key: number): void {
    const items = this.items;
    items.push({ key, value });
    for (let i = items.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (items[parent].key <= items[i].key) break;
      [items[parent], items[i]] = [items[i], items[parent]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length && last) {
      items[0] = last;
      for (let i = 0; ;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && items[left].key < items[smallest].key) smallest = left;
        if (right < items.length && items[right].key < items[smallest].key) smallest = right;
        if (smallest === i) break;
        [items[smallest], items[i]] = [items[i], items[smallest]];
        i = smallest;
      }
    }
    return top?.value;
  }
}
