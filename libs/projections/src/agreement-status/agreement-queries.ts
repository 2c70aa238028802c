import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import {
  agreementDecider,
  commitmentStatusAt,
  type Agreement,
  type AgreementEvent,
  type AgreementState,
} from '@app/domain';
import { EventStore } from '@app/event-store';
import { agreementStreamId, loadAggregate, StreamCodeIndex } from '@app/trade';
import type { Pool } from 'pg';
import { readEntityTag, type TaggedStatusQuery, type TaggedView } from '../entity-tag';
import { readHistoryPage, type HistoryRange } from '../event-history';
import type { StatusQuery } from '../measure-status/measure-queries';

/** Agreements with their commitments' statuses on any date, as known at any time. */
@Injectable()
export class AgreementQueries {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(StreamCodeIndex) private readonly codes: StreamCodeIndex,
  ) {}

  async get(idOrCode: string, query: StatusQuery) {
    const read = await this.read(idOrCode, query.asOf, query.knownAt, new Date());
    return read?.view ?? null;
  }

  /** The agreement with its entity tag (see `readEntityTag`), for conditional requests. */
  async getTagged(idOrCode: string, query: TaggedStatusQuery) {
    const now = new Date();
    const read = await this.read(idOrCode, query.asOf ?? now, query.knownAt, now);
    if (!read) return null;
    const { view } = read;
    const tagged: TaggedView<typeof view> = {
      view,
      etag: readEntityTag({
        version: view.version,
        asOf: query.asOf,
        knownAt: query.knownAt,
        now,
        subject: read.agreement,
        borrowed: [view.reaffirms, view.commitments.map((commitment) => commitment.measures)],
      }),
    };
    return tagged;
  }

  private async read(idOrCode: string, asOf: Date, knownAtQuery: Date | undefined, now: Date) {
    const id = await this.codes.resolve('agreement', idOrCode);
    if (!id) return null;
    const knownAt = knownAtQuery && knownAtQuery < now ? knownAtQuery : undefined;
    let state: AgreementState;
    let version: number;
    if (knownAt) {
      ({ state, version } = await loadAggregate<AgreementEvent, AgreementState>(
        this.store,
        agreementDecider,
        agreementStreamId(id),
        { recordedUntil: knownAt },
      ));
    } else {
      const { rows } = await this.pool.query<{ state: AgreementState; version: string }>(
        'SELECT state, version FROM agreement_status WHERE agreement_id = $1',
        [id],
      );
      if (!rows.length) return null;
      state = rows[0].state;
      version = Number(rows[0].version);
    }
    const { agreement } = state;
    if (!agreement) return null;
    const view = await this.view(agreement, asOf, knownAt ?? now, version);
    return { view, agreement };
  }

  /**
   * A page of agreements in id order. With a past `knownAt`, each agreement on the page is
   * folded from the events recorded by then, and one not known then (or not yet naming the
   * party) is left out: the page may come out shorter, and its cursor still moves on.
   */
  async list(query: { asOf: Date; knownAt?: Date; party?: string; after?: string; limit: number }) {
    const now = new Date();
    const past = query.knownAt && query.knownAt < now ? query.knownAt : undefined;
    const { rows } = await this.pool.query<{
      state: AgreementState;
      version: string;
      agreement_id: string;
    }>(
      // A past knownAt takes every row: one whose creation was retracted since names no party
      // and no title now, and the fold below says what stood then.
      `SELECT agreement_id, state, version FROM agreement_status
        WHERE agreement_id > $1
          AND ($4::boolean OR (title IS NOT NULL AND ($2::text IS NULL OR parties @> ARRAY[$2])))
        ORDER BY agreement_id LIMIT $3`,
      [
        query.after ?? '00000000-0000-0000-0000-000000000000',
        query.party ?? null,
        query.limit + 1,
        past !== undefined,
      ],
    );
    const page = rows.slice(0, query.limit);
    const known = await Promise.all(
      page.map(async (row) => {
        if (!past) return { agreement: row.state.agreement, version: Number(row.version) };
        const then = await loadAggregate<AgreementEvent, AgreementState>(
          this.store,
          agreementDecider,
          agreementStreamId(row.agreement_id),
          { recordedUntil: past },
        );
        return { agreement: then.state.agreement, version: then.version };
      }),
    );
    const shown = known.filter(
      (entry): entry is { agreement: Agreement; version: number } =>
        entry.agreement !== null &&
        entry.agreement !== undefined &&
        (!query.party || entry.agreement.parties.includes(query.party)),
    );
    // The codes the whole page names, in one query (not one per agreement, each on a connection
    // of the pool's at once).
    const codes = await this.codes.codesOf([
      ...new Set(shown.flatMap(({ agreement }) => namedStreams(agreement, query.asOf))),
    ]);
    const items = shown.map(({ agreement, version }) =>
      viewOf(agreement, query.asOf, past ?? now, version, codes),
    );
    return {
      items,
      nextCursor: rows.length > query.limit ? page[page.length - 1].agreement_id : null,
    };
  }

  /**
   * The stream's history in `range` (all of it by default), each event marked if (and when) it
   * was retracted; null when there is no such agreement.
   */
  async events(idOrCode: string, range: HistoryRange = {}) {
    const id = await this.codes.resolve('agreement', idOrCode);
    if (!id) return null;
    return readHistoryPage(this.store, agreementStreamId(id), range);
  }

  /**
   * The agreement on `asOf`. Before it was concluded it is shown, as a measure is before its
   * first stage, with a null `status` and no agreement it reaffirms yet; so are its commitments
   * before they were made (a status then would claim a commitment nobody had made yet, `pending`
   * or not).
   */
  private async view(agreement: Agreement, asOf: Date, knownAt: Date, version: number) {
    const codes = await this.codes.codesOf(namedStreams(agreement, asOf));
    return viewOf(agreement, asOf, knownAt, version, codes);
  }
}

/** An agreement not concluded yet confirms nothing: it reaffirms what it does once concluded. */
function concludedBy(agreement: Agreement, asOf: Date): boolean {
  return Date.parse(agreement.concludedAt) <= asOf.getTime();
}

/** The measures and agreements the view of `agreement` on `asOf` names (to show their codes). */
function namedStreams(agreement: Agreement, asOf: Date): string[] {
  const reaffirms = concludedBy(agreement, asOf) ? agreement.reaffirms : [];
  return [...new Set([...agreement.commitments.flatMap((c) => c.measures), ...reaffirms])];
}

function viewOf(
  agreement: Agreement,
  asOf: Date,
  knownAt: Date,
  version: number,
  codes: Map<string, string>,
) {
  const reached = (instant: string) => Date.parse(instant) <= asOf.getTime();
  const concluded = concludedBy(agreement, asOf);
  const reaffirms = concluded ? agreement.reaffirms : [];
  return {
    id: agreement.id,
    code: agreement.code ?? null,
    title: agreement.title,
    status: concluded ? ('concluded' as const) : null,
    parties: agreement.parties,
    venue: agreement.venue ?? null,
    summary: agreement.summary ?? null,
    concludedAt: agreement.concludedAt,
    reaffirms: reaffirms.map((id) => ({ id, code: codes.get(id) ?? null })),
    commitments: agreement.commitments.map((commitment) => ({
      id: commitment.id,
      obligor: commitment.obligor,
      kind: commitment.kind,
      text: commitment.text,
      measures: commitment.measures.map((id) => ({ id, code: codes.get(id) ?? null })),
      dueAt: commitment.dueAt ?? null,
      condition: commitment.condition ?? null,
      status: reached(commitment.recordedAt)
        ? commitmentStatusAt(commitment, asOf.toISOString())
        : null,
      statusHistory: commitment.statusHistory,
      sources: commitment.sources,
    })),
    claims: agreement.claims,
    sources: agreement.sources,
    asOf: asOf.toISOString(),
    knownAt: knownAt.toISOString(),
    version,
  };
}
