import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import {
  type Measure,
  measureDecider,
  type MeasureEvent,
  type MeasureState,
  retractedEventIds,
  type EventRetracted,
  coversOn,
} from '@app/domain';
import { EventStore } from '@app/event-store';
import { loadAggregate, measureStreamId, StreamCodeIndex } from '@app/trade';
import type { Pool } from 'pg';
import { readEntityTag, type TaggedStatusQuery, type TaggedView } from '../entity-tag';
import { readHistoryPage, type HistoryRange } from '../event-history';
import {
  agreementsOf,
  searchTextOf,
  toMeasureSummary,
  toMeasureView,
  type MeasureLink,
  type MeasureSummary,
  type MeasureView,
} from './measure-view';

export interface StatusQuery {
  asOf: Date;
  /** Absent: what the tracker knows now (read from the projection). */
  knownAt?: Date;
}

export interface MeasureListQuery {
  asOf: Date;
  /**
   * A past `knownAt` lists what was recorded by then: candidates changed since are folded from
   * the log one by one, the others read like current rows.
   */
  knownAt?: Date;
  imposingParty?: string;
  targetParty?: string;
  kind?: string;
  status?: string;
  agreement?: string;
  endsBefore?: Date;
  q?: string;
  after?: string;
  limit: number;
}

/** What a measure responds to, in its order, with codes; and the measures that respond to it. */
const respondsToSql = (ids: string) => `
  (SELECT coalesce(json_agg(json_build_object('id', r.id, 'code', c.code) ORDER BY r.n), '[]')
     FROM unnest(${ids}) WITH ORDINALITY AS r(id, n)
     LEFT JOIN stream_codes c ON c.aggregate_id = r.id::uuid)`;
const countermeasuresSql = (id: string) => `
  (SELECT coalesce(json_agg(json_build_object('id', x.measure_id, 'code', x.code)
                            ORDER BY x.measure_id), '[]')
     FROM measure_status x WHERE x.responds_to @> ARRAY[${id}])`;
/**
 * The measures whose stream ever linked them to `id` (`linked_to`: a link retracted since stood
 * as known before its retraction), each with what it takes to tell whether it responded to `id`
 * as known at `knownAt`: the ids of its links to `id` (`CountermeasureLinked` events) recorded
 * by then, and every retraction of its stream recorded by then, as `[retraction id, retracted
 * id]` in stream order (see `standingCountermeasures`).
 */
const countermeasuresKnownSql = (id: string, knownAt: string) => `
  (SELECT coalesce(json_agg(json_build_object('id', x.measure_id, 'code', x.code,
                                              'links', k.links, 'retractions', k.retractions)
                            ORDER BY x.measure_id), '[]')
     FROM measure_status x
    CROSS JOIN LATERAL (
      SELECT array_agg(e.event_id) FILTER (WHERE e.type = 'CountermeasureLinked'
                                             AND e.payload->>'respondsTo' = ${id}) AS links,
             coalesce(json_agg(json_build_array(e.event_id, e.payload->>'eventId') ORDER BY e.version)
                        FILTER (WHERE e.type = 'EventRetracted'), '[]') AS retractions
        FROM events e
       WHERE e.stream_id = 'measure-' || x.measure_id
         AND e.type IN ('CountermeasureLinked', 'EventRetracted')
         AND e.recorded_at <= ${knownAt}::timestamptz) k
    WHERE x.linked_to @> ARRAY[${id}] AND k.links IS NOT NULL)`;

/** A measure linked to another at some time, with its links and retractions as known then. */
interface CountermeasureCandidate extends MeasureLink {
  links: string[];
  retractions: Array<[string, string]>;
}

/**
 * The candidates whose link still stood in their stream as recorded by then. A retraction may
 * itself be retracted, and that one in turn: which ones stand is the domain's rule, and only
 * retractions take part in it, so they alone are handed to it.
 */
function standingCountermeasures(candidates: CountermeasureCandidate[]): MeasureLink[] {
  return candidates.flatMap(({ id, code, links, retractions }) => {
    if (retractions.length === 0) return [{ id, code }];
    const retracted = retractedEventIds(
      retractions.map(
        ([eventId, target]) =>
          ({
            type: 'EventRetracted',
            data: { eventId: target },
            metadata: { eventId },
          }) as unknown as EventRetracted,
      ),
    );
    return links.some((link) => !retracted.has(link)) ? [{ id, code }] : [];
  });
}

const DETAIL_SQL = `
  SELECT m.measure, m.version,
         ${respondsToSql('m.responds_to')} AS responds_to,
         ${countermeasuresSql('m.measure_id::text')} AS countermeasures
    FROM measure_status m WHERE m.measure_id = $1`;

/**
 * Whether the stream as known at `knownAt` is the stream the row folds: no event after the
 * row's version, and none recorded after `knownAt`. (Not only the last: concurrent appends
 * without an expected version can commit a later version with an earlier transaction time.)
 */
function knownAsFoldedSql(knownAt: string, row: string): string {
  return `NOT EXISTS (SELECT 1 FROM events e
                       WHERE e.stream_id = 'measure-' || ${row}.measure_id
                         AND (e.version > ${row}.version OR e.recorded_at > ${knownAt}::timestamptz))`;
}

/**
 * The detail row for a past knownAt ($2): whether that knownAt knows the stream as the row folds
 * it, the measure only if so (it is not parsed otherwise), and the links either way, with the
 * ids the row responds to, so that a measure folded from the log seldom needs another query.
 */
const DETAIL_KNOWN_SQL = `
  SELECT CASE WHEN k.known THEN m.measure END AS measure, m.version, k.known,
         m.responds_to AS responds_to_ids,
         ${respondsToSql('m.responds_to')} AS responds_to,
         ${countermeasuresKnownSql('m.measure_id::text', '$2')} AS countermeasures
    FROM measure_status m
   CROSS JOIN LATERAL (SELECT ${knownAsFoldedSql('$2', 'm')} AS known) k
   WHERE m.measure_id = $1`;

interface DetailRow {
  measure: Measure | null;
  version: string;
  responds_to: MeasureLink[];
  countermeasures: MeasureLink[];
}

interface DetailKnownRow extends Omit<DetailRow, 'countermeasures'> {
  known: boolean;
  responds_to_ids: string[];
  countermeasures: CountermeasureCandidate[];
}

const LINKS_KNOWN_SQL = `
  SELECT ${respondsToSql('$2::text[]')} AS responds_to,
         ${countermeasuresKnownSql('$1::text', '$3')} AS countermeasures`;

const STORED_ITEM_HOLDS = `list_item IS NOT NULL
  AND (list_item_from IS NULL OR list_item_from <= $3::timestamptz)
  AND (list_item_until IS NULL OR $3::timestamptz < list_item_until)`;

interface PageRow {
  measure_id: string;
  version: string;
  /** False when a past knownAt does not know the stream as the row folds it. */
  known: boolean;
  /** Found for the target party through a territory of one of its scopes. */
  by_scope: boolean;
  item: string | null;
  measure: Measure | null;
}

/** A list page. Items are JSON text, so that stored ones go out without a parse and a print. */
export interface MeasurePage {
  asOf: string;
  knownAt: string;
  itemsJson: string[];
  nextCursor: string | null;
}

/** The page as the API sends it: `{asOf, knownAt, items, nextCursor}`. */
export function measurePageJson(page: MeasurePage): string {
  return (
    `{"asOf":"${page.asOf}","knownAt":"${page.knownAt}","items":[${page.itemsJson.join(',')}],` +
    `"nextCursor":${JSON.stringify(page.nextCursor)}}`
  );
}

/**
 * The filters a list page may have: each one's condition on its parameter (which the statement
 * can walk an index for), and on a measure on `asOf`.
 */
const PAGE_FILTERS = {
  imposingParty: {
    sql: (p: string) => `imposing_party = ${p}::text`,
    holds: (measure: Measure, party: string) => measure.imposingParty === party,
  },
  // A party the measure targets, or whose territory its scope on asOf includes (HK under a duty
  // on CN). `covered_parties` holds the territories of every scope the measure ever had: rows
  // found through one the measure does not target are checked against the scope on asOf.
  targetParty: {
    sql: (p: string) => `covered_parties @> ARRAY[${p}::text]`,
    holds: (measure: Measure, party: string, asOf: Date) => coversOn(measure, party, asOf),
  },
  kind: {
    sql: (p: string) => `kind = ${p}::text`,
    holds: (measure: Measure, kind: string) => measure.kind === kind,
  },
  agreement: {
    sql: (p: string) => `agreement_ids @> ARRAY[${p}::text]`,
    holds: (measure: Measure, agreement: string) => agreementsOf(measure).includes(agreement),
  },
  // The text as typed: `%`, `_` and `\` match themselves, not as LIKE's wildcards.
  q: {
    sql: (p: string) =>
      `search LIKE '%' || replace(replace(replace(lower(${p}::text), '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'`,
    holds: (measure: Measure, text: string) => searchTextOf(measure).includes(text.toLowerCase()),
  },
} satisfies Record<
  string,
  { sql: (p: string) => string; holds: (measure: Measure, value: string, asOf: Date) => boolean }
>;

type PageFilter = keyof typeof PAGE_FILTERS;
const PAGE_FILTER_NAMES = Object.keys(PAGE_FILTERS) as PageFilter[];

/**
 * Streams of measures with an event recorded after the knownAt parameter: their rows may say
 * more or less than the tracker knew then (a creation retracted since leaves a row with no
 * title), so a past knownAt takes them whatever their row says, and filters their fold.
 */
export const changedSinceSql = (knownAt: string) => `
  measure_id IN (SELECT DISTINCT substr(stream_id, 9)::uuid FROM events
                  WHERE recorded_at > ${knownAt}::timestamptz AND stream_id LIKE 'measure-%')`;

/**
 * A page of rows after the key $1, at most $2: the stored list item (as text, not parsed) when
 * `asOf` ($3) lies in the span it holds for, else the list entry to compute it from. The
 * statement names only the filters the page has (and the knownAt check only for a past
 * knownAt), so that its generic plan can walk the index of a filter: with `$n IS NULL OR …`
 * for every filter, PostgreSQL walked the primary key and discarded most rows it visited.
 */
function pageStatement(filters: PageFilter[], knownAt: boolean): { name: string; text: string } {
  const name = `measure-status-page:${filters.join(',')}${knownAt ? ':known-at' : ''}`;
  const built = pageStatements.get(name);
  if (built) return built;
  const current = [
    'title IS NOT NULL',
    ...filters.map((filter, i) => PAGE_FILTERS[filter].sql(`$${i + 4}`)),
  ].join(' AND ');
  const knownAtParam = `$${filters.length + 4}`;
  const known = knownAt ? knownAsFoldedSql(knownAtParam, 'measure_status') : 'true';
  const candidates = knownAt ? `(${current}) OR ${changedSinceSql(knownAtParam)}` : current;
  // Found through a territory of a scope, not a target party: the scope on asOf decides, so the
  // list entry comes along even when the stored item serves.
  const party = filters.indexOf('targetParty');
  const byScope = party === -1 ? 'false' : `NOT (target_parties @> ARRAY[$${party + 4}::text])`;
  const statement = {
    name,
    text: `
      SELECT measure_id, version, ${known} AS known, ${byScope} AS by_scope,
             CASE WHEN ${STORED_ITEM_HOLDS} THEN list_item::text END AS item,
             CASE WHEN ${byScope} OR NOT (${STORED_ITEM_HOLDS})
                  THEN coalesce(list_entry, measure) END AS measure
        FROM measure_status
       WHERE measure_id > $1 AND (${candidates})
       ORDER BY measure_id LIMIT $2`,
  };
  pageStatements.set(name, statement);
  return statement;
}

/** Built once per combination of filters, by name. */
const pageStatements = new Map<string, { name: string; text: string }>();

/**
 * Status of measures, now or on any date (valid time) and as known at any time (transaction
 * time). "Now as known now" reads the projection; so does a past `knownAt` for a measure nothing
 * was recorded for since. Otherwise a past `knownAt` folds the events recorded by then, so
 * retractions recorded later do not count yet.
 */
@Injectable()
export class MeasureQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {}

  async get(idOrCode: string, query: StatusQuery): Promise<MeasureView | null> {
    const read = await this.read(idOrCode, query.asOf, query.knownAt, new Date());
    return read?.view ?? null;
  }

  /** The detail with its entity tag (see `readEntityTag`), for conditional requests. */
  async getTagged(
    idOrCode: string,
    query: TaggedStatusQuery,
  ): Promise<TaggedView<MeasureView> | null> {
    const now = new Date();
    const read = await this.read(idOrCode, query.asOf ?? now, query.knownAt, now);
    if (!read) return null;
    const { view } = read;
    return {
      view,
      etag: readEntityTag({
        version: view.version,
        asOf: query.asOf,
        knownAt: query.knownAt,
        now,
        subject: read.measure,
        borrowed: [view.respondsTo, view.countermeasures],
      }),
    };
  }

  /** The detail and the measure it shows. */
  private async read(
    idOrCode: string,
    asOf: Date,
    knownAtQuery: Date | undefined,
    now: Date,
  ): Promise<{ view: MeasureView; measure: Measure } | null> {
    const id = await this.codes.resolve('measure', idOrCode);
    if (!id) return null;
    const knownAt = knownAtQuery && knownAtQuery < now ? knownAtQuery : undefined;
    if (knownAt) return this.readKnownAt(id, asOf, knownAt);
    // The row and both kinds of links in one round trip, as a prepared statement: this is the
    // API's hottest read, and planning its subqueries cost more than running them.
    const { rows } = await this.pool.query<DetailRow>({
      name: 'measure-status-detail',
      text: DETAIL_SQL,
      values: [id],
    });
    const row = rows[0];
    if (!row?.measure) return null;
    const view = toMeasureView(row.measure, asOf, now, Number(row.version), {
      respondsTo: row.responds_to,
      countermeasures: row.countermeasures,
    });
    return { view, measure: row.measure };
  }

  /**
   * As known at a past time. The row serves when every event of the stream was recorded by
   * then (and is in the row): the stream as known then is the stream as known now. Otherwise
   * the events recorded by then are folded, with the row's links when the measure as known
   * then responds to the same measures (links name measures by their codes as known now).
   */
  private async readKnownAt(
    id: string,
    asOf: Date,
    knownAt: Date,
  ): Promise<{ view: MeasureView; measure: Measure } | null> {
    const { rows } = await this.pool.query<DetailKnownRow>({
      name: 'measure-status-detail-known',
      text: DETAIL_KNOWN_SQL,
      values: [id, knownAt],
    });
    const row = rows[0];
    if (row?.known) {
      if (!row.measure) return null;
      const view = toMeasureView(row.measure, asOf, knownAt, Number(row.version), {
        respondsTo: row.responds_to,
        countermeasures: standingCountermeasures(row.countermeasures),
      });
      return { view, measure: row.measure };
    }
    const { state, version } = await this.knownAt(id, knownAt);
    if (!state.measure) return null;
    const sameLinks = row !== undefined && sameIds(row.responds_to_ids, state.measure.respondsTo);
    const links = sameLinks
      ? {
          respondsTo: row.responds_to,
          countermeasures: standingCountermeasures(row.countermeasures),
        }
      : await this.links(state.measure, knownAt);
    const view = toMeasureView(state.measure, asOf, knownAt, version, links);
    return { view, measure: state.measure };
  }

  async list(query: MeasureListQuery): Promise<MeasurePage> {
    const now = new Date();
    const knownAt = query.knownAt && query.knownAt < now ? query.knownAt : undefined;
    const page: MeasurePage = {
      asOf: query.asOf.toISOString(),
      knownAt: (knownAt ?? now).toISOString(),
      itemsJson: [],
      nextCursor: null,
    };
    let after = query.after ?? '00000000-0000-0000-0000-000000000000';
    const agreement = query.agreement && (await this.codes.resolve('agreement', query.agreement));
    if (query.agreement && !agreement) return page;
    const filtered = query.status !== undefined || query.endsBefore !== undefined;
    const chunk = query.limit + 1;
    const filterValues: Partial<Record<PageFilter, string>> = {
      imposingParty: query.imposingParty,
      targetParty: query.targetParty,
      kind: query.kind,
      agreement: agreement || undefined,
      q: query.q,
    };
    const filters = PAGE_FILTER_NAMES.filter((filter) => filterValues[filter] !== undefined);
    const statement = pageStatement(filters, knownAt !== undefined);
    // Status and end filters are known only once the status on `asOf` is computed, so rows are
    // scanned in key order until the page is full; the cursor is the last key scanned.
    for (;;) {
      const { rows } = await this.pool.query<PageRow>({
        ...statement,
        values: [
          after,
          chunk,
          query.asOf,
          ...filters.map((filter) => filterValues[filter]),
          ...(knownAt ? [knownAt] : []),
        ],
      });
      for (const row of rows) {
        if (page.itemsJson.length === query.limit) return { ...page, nextCursor: after };
        after = row.measure_id;
        let json: string | null = null;
        let item: MeasureSummary | null = null;
        // For a past knownAt, a stream unchanged since reads like a current one.
        if (!row.known) {
          item = await this.summaryKnownAt(row.measure_id, query.asOf, knownAt!, (measure) =>
            filters.every((filter) =>
              PAGE_FILTERS[filter].holds(measure, filterValues[filter]!, query.asOf),
            ),
          );
        } else if (
          row.by_scope &&
          !(row.measure && coversOn(row.measure, query.targetParty!, query.asOf))
        ) {
          continue;
        } else if (row.item !== null) json = row.item;
        else if (row.measure) item = toMeasureSummary(row.measure, query.asOf, Number(row.version));
        if (json === null && item === null) continue;
        if (filtered) {
          // A stored item is parsed only when a filter must look inside it.
          const shown = item ?? (JSON.parse(json as string) as MeasureSummary);
          if (query.status && shown.status !== query.status) continue;
          if (query.endsBefore && !endsBefore(shown, query.endsBefore)) continue;
        }
        page.itemsJson.push(json ?? JSON.stringify(item));
      }
      if (rows.length < chunk) return page;
    }
  }

  /**
   * A list item as known at `knownAt`: the measure folded from the events recorded by then, if
   * it existed then and, as it stood then, passes the page's filters.
   */
  private async summaryKnownAt(
    measureId: string,
    asOf: Date,
    knownAt: Date,
    passes: (measure: Measure) => boolean,
  ) {
    const { state, version } = await this.knownAt(measureId, knownAt);
    if (!state.measure || !passes(state.measure)) return null;
    return toMeasureSummary(state.measure, asOf, version);
  }

  /** The measure as the tracker knew it at `knownAt`: only events recorded by then count. */
  knownAt(measureId: string, knownAt: Date) {
    return loadAggregate<MeasureEvent, MeasureState>(
      this.store,
      measureDecider,
      measureStreamId(measureId),
      { recordedUntil: knownAt },
    );
  }

  /**
   * The stream's history in `range` (all of it by default), each event marked if (and when) it
   * was retracted; null when there is no such measure.
   */
  async events(idOrCode: string, range: HistoryRange = {}) {
    const id = await this.codes.resolve('measure', idOrCode);
    if (!id) return null;
    return readHistoryPage(this.store, measureStreamId(id), range);
  }

  /** Links for a measure folded as known at a past time, in one round trip. */
  private async links(
    measure: Measure,
    knownAt: Date,
  ): Promise<{ respondsTo: MeasureLink[]; countermeasures: MeasureLink[] }> {
    const { rows } = await this.pool.query<{
      responds_to: MeasureLink[];
      countermeasures: CountermeasureCandidate[];
    }>({
      name: 'measure-status-links-known',
      text: LINKS_KNOWN_SQL,
      values: [measure.id, measure.respondsTo, knownAt],
    });
    return {
      respondsTo: rows[0].responds_to,
      countermeasures: standingCountermeasures(rows[0].countermeasures),
    };
  }
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, index) => id === b[index]);
}

function endsBefore(view: MeasureSummary, instant: Date): boolean {
  const end = view.activeSuspension?.endsAt;
  return end !== null && end !== undefined && new Date(end) < instant;
}
