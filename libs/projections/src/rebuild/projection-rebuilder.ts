import { performance } from 'node:perf_hooks';
import { Inject, Injectable } from '@nestjs/common';
import { PG_POOL } from '@app/database';
import { EventStore, type RecordedEvent, type StreamCursor } from '@app/event-store';
import { Client, type Pool } from 'pg';
import { DataSource, type EntityManager } from 'typeorm';
import type { RebuildableProjection } from './rebuildable-projection';
import {
  createShadow,
  describeTable,
  dropShadow,
  finishShadow,
  inRebuildSchema,
  swapShadow,
  type ShadowTable,
} from './shadow-tables';

/** `waiting`: for appends in flight when the rebuild began to end (see EventStore.settledHead). */
export type RebuildPhase = 'waiting' | 'copying' | 'indexing' | 'catching-up' | 'swapping';

export interface RebuildProgress {
  phase: RebuildPhase;
  /** The projections not swapped in yet. */
  projections: string[];
  /**
   * How far the phase has come out of `total`: events copied stream by stream, or the position
   * reached in log order.
   */
  done: number;
  total: number;
  /** Events applied to the copies so far, all phases together. */
  events: number;
  elapsedMs: number;
}

export interface RebuildOptions {
  /** Events per transaction on the copies. */
  batchEvents?: number;
  /** Events per read of the log. */
  pageSize?: number;
  /** How long the swap waits for the live tables before it catches up again and retries. */
  lockTimeoutMs?: number;
  swapAttempts?: number;
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * Stops the rebuild between two batches (a Ctrl-C): the copies are dropped, the live tables
   * and their checkpoints are as they were, and the promise rejects with `RebuildAbortedError`.
   */
  signal?: AbortSignal;
}

export interface RebuildResult {
  name: string;
  /** The checkpoint the rebuilt projection went live with. */
  position: number;
  /** Rows of each rebuilt table. */
  rows: Record<string, number>;
}

export class RebuildAbortedError extends Error {
  constructor() {
    super('The rebuild was stopped: its copies are dropped, the live tables are as they were.');
    this.name = 'RebuildAbortedError';
  }
}

export class RebuildInProgressError extends Error {
  constructor(readonly projection: string) {
    super(`A rebuild of ${projection} is already running`);
  }
}

interface Build {
  projection: RebuildableProjection;
  tables: ShadowTable[];
  /** The log position the copies hold every event up to. */
  position: number;
  swapped: boolean;
}

interface Batch {
  events: RecordedEvent[];
  /** Log order: where the next read continues. */
  nextAfter: number;
  /** Stream order: where the next read continues. */
  cursor: StreamCursor | null;
  /** Whether the log may hold more beyond this batch. */
  more: boolean;
}

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Rebuilds projections from position zero without stopping them: each projection's `handle`
 * fills empty copies of its tables (see shadow-tables.ts), one transaction per batch; then one
 * transaction per projection locks the live tables, applies the events that arrived meanwhile,
 * moves the projection's checkpoint to the copy's position and swaps the copies in.
 *
 * The copy reads the log up to a settled head stream by stream for `perStream` projections (so
 * each row is written once) and in log order, with `EventStore.readAll`, for the others;
 * projections rebuilt together share each pass. Everything after the copy is in log order.
 *
 * The live runner needs no coordination. A batch it has begun writing holds the live tables,
 * so the swap waits for it to commit. A batch that has not touched them yet waits behind the
 * swap, then writes to the new tables, and its fenced checkpoint update (`WHERE position =
 * <where it started>`) finds the checkpoint moved: the batch rolls back, the runner steps down
 * and resumes from the new checkpoint. Either way the live tables hold exactly the events up
 * to the checkpoint.
 */
@Injectable()
export class ProjectionRebuilder {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(EventStore) private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async rebuild(
    projections: RebuildableProjection[],
    options: RebuildOptions = {},
  ): Promise<RebuildResult[]> {
    if (!projections.length) return [];
    const batchEvents = options.batchEvents ?? 20_000;
    const pageSize = options.pageSize ?? 1000;
    const started = performance.now();
    const names = projections.map((projection) => projection.name);
    if (new Set(names).size !== names.length) throw new Error('A projection is named twice');

    const locks = await this.lock(names);
    const builds: Build[] = [];
    let events = 0;
    const report = (phase: RebuildPhase, done: number, total: number) =>
      options.onProgress?.({
        phase,
        projections: builds.filter((build) => !build.swapped).map((b) => b.projection.name),
        done,
        total: Math.max(total, done),
        events,
        elapsedMs: performance.now() - started,
      });
    /** Applies batches to the builds, each batch read while the previous one is applied. */
    const copy = async (
      pending: Build[],
      read: (batch: Batch | null) => Promise<Batch>,
      progress: (batch: Batch, done: number) => void,
    ) => {
      let done = 0;
      let next = readAhead(read(null));
      for (;;) {
        const batch = await next;
        if (options.signal?.aborted) throw new RebuildAbortedError();
        if (batch.more) next = readAhead(read(batch));
        await Promise.all(pending.map((build) => this.apply(build, batch.events)));
        events += batch.events.length;
        done += batch.events.length;
        progress(batch, done);
        if (!batch.more) return;
      }
    };
    const catchUp = async (pending: Build[]) => {
      const head = await this.store.headPosition();
      await copy(
        pending,
        (previous) =>
          this.readInLogOrder(previous?.nextAfter ?? pending[0].position, batchEvents, pageSize),
        (batch) => {
          for (const build of pending) build.position = batch.nextAfter;
          report('catching-up', batch.nextAfter, head);
        },
      );
    };

    try {
      for (const projection of projections) builds.push(await this.prepare(projection));

      const byStream = builds.filter((build) => build.projection.perStream);
      if (byStream.length) {
        const upTo = await this.store.settledHead(undefined, () => report('waiting', 0, 1));
        report('copying', 0, upTo);
        await copy(
          byStream,
          (previous) => this.readByStream(upTo, previous?.cursor ?? null, batchEvents, pageSize),
          (_, done) => report('copying', done, upTo),
        );
        for (const build of byStream) build.position = upTo;
      }
      const inLogOrder = builds.filter((build) => !build.projection.perStream);
      if (inLogOrder.length) {
        const head = await this.store.headPosition();
        report('copying', 0, head);
        await copy(
          inLogOrder,
          (previous) => this.readInLogOrder(previous?.nextAfter ?? 0, batchEvents, pageSize),
          (batch) => {
            for (const build of inLogOrder) build.position = batch.nextAfter;
            report('copying', batch.nextAfter, head);
          },
        );
      }

      report('indexing', 0, builds.length);
      for (const [index, build] of builds.entries()) {
        await this.finish(build);
        report('indexing', index + 1, builds.length);
      }

      // What arrived meanwhile, so that the swap has little left to apply under its lock.
      for (const group of groupByPosition(builds)) await catchUp(group);

      for (const [index, build] of builds.entries()) {
        report('swapping', index, builds.length);
        for (let attempt = 1; ; attempt += 1) {
          try {
            await this.swap(build, pageSize, options.lockTimeoutMs ?? 3000);
            break;
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== LOCK_NOT_AVAILABLE || attempt >= (options.swapAttempts ?? 5)) throw error;
            await catchUp([build]);
          }
        }
      }
      return await Promise.all(builds.map((build) => this.result(build)));
    } finally {
      for (const build of builds.filter((b) => !b.swapped)) {
        for (const table of build.tables) {
          await dropShadow(this.dataSource.manager, table).catch(() => undefined);
        }
      }
      await locks.end().catch(() => undefined);
    }
  }

  /**
   * One rebuild per projection at a time, across processes: a session advisory lock, held on a
   * connection of its own for the whole rebuild (and dropped with it if the process dies).
   */
  private async lock(names: string[]): Promise<Client> {
    const client = new Client(this.pool.options);
    await client.connect();
    try {
      for (const name of names) {
        const { rows } = await client.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
          [`accord-rebuild:${name}`],
        );
        if (!rows[0].locked) throw new RebuildInProgressError(name);
      }
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
  }

  private async prepare(projection: RebuildableProjection): Promise<Build> {
    const build: Build = { projection, tables: [], position: 0, swapped: false };
    await this.dataSource.transaction(async (manager) => {
      for (const name of projection.tables) {
        const table = await describeTable(manager, name);
        await createShadow(manager, table);
        build.tables.push(table);
      }
    });
    return build;
  }

  /**
   * Applies a batch to the copies, without waiting for the commit's flush: the copies only
   * matter once swapped in, and the swap commits synchronously, which flushes them too.
   */
  private async apply(build: Build, events: RecordedEvent[]): Promise<void> {
    if (!events.length) return;
    await this.dataSource.transaction(async (manager) => {
      await manager.query('SET LOCAL synchronous_commit = off');
      await this.compressWithLz4(manager);
      await inRebuildSchema(manager, () => build.projection.handle(events, manager));
    });
  }

  private lz4: Promise<boolean> | undefined;

  /**
   * Read models keep large JSON documents (folded states, histories), and a rebuild writes all
   * of them at once: lz4 compresses them several times faster than PostgreSQL's default pglz
   * (and decompresses faster for readers). It applies to columns that name no compression of
   * their own, and only where the server was built with lz4.
   */
  private async compressWithLz4(manager: EntityManager): Promise<void> {
    this.lz4 ??= this.dataSource
      .query<{ available: boolean }[]>(
        `SELECT 'lz4' = ANY(enumvals) AS available FROM pg_settings
          WHERE name = 'default_toast_compression'`,
      )
      .then((rows) => rows[0]?.available === true);
    if (await this.lz4) await manager.query('SET LOCAL default_toast_compression = lz4');
  }

  private async finish(build: Build): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      for (const table of build.tables) await finishShadow(manager, table);
    });
  }

  /**
   * The swap, in one transaction. The live tables are locked first and the rest of the log is
   * read on other connections; only then does this transaction write, and the checkpoint row
   * is taken last, by its update. (It appends nothing, so no reader of the log waits for it.)
   */
  private async swap(build: Build, pageSize: number, lockTimeoutMs: number): Promise<void> {
    const { projection, tables } = build;
    let position = build.position;
    await this.dataSource.transaction(async (manager) => {
      await manager.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
      await manager.query(
        `LOCK TABLE ${tables.map((table) => table.live).join(', ')} IN ACCESS EXCLUSIVE MODE`,
      );
      const rest = await this.readInLogOrder(build.position, Number.MAX_SAFE_INTEGER, pageSize);
      await this.compressWithLz4(manager);
      if (rest.events.length) {
        await inRebuildSchema(manager, () => projection.handle(rest.events, manager));
      }
      position = rest.nextAfter;
      await manager.query(
        `INSERT INTO subscription_checkpoints (name, position) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()`,
        [projection.name, position],
      );
      for (const table of tables) await swapShadow(manager, table);
    });
    build.position = position;
    build.swapped = true;
  }

  /** Up to `max` events after `after` in log order, page by page, stopping early at the head. */
  private async readInLogOrder(after: number, max: number, pageSize: number): Promise<Batch> {
    const events: RecordedEvent[] = [];
    let position = after;
    let more = true;
    while (events.length < max) {
      const wanted = Math.min(pageSize, max - events.length);
      const page = await this.store.readAll(position, wanted);
      for (const event of page.events) events.push(event);
      position = page.nextAfter;
      if (page.events.length < wanted) {
        more = false;
        break;
      }
    }
    return { events, nextAfter: position, cursor: null, more };
  }

  /** Up to `max` events at or below `upTo`, stream by stream, after `cursor`. */
  private async readByStream(
    upTo: number,
    cursor: StreamCursor | null,
    max: number,
    pageSize: number,
  ): Promise<Batch> {
    const events: RecordedEvent[] = [];
    let next = cursor;
    let more = true;
    while (events.length < max) {
      const wanted = Math.min(pageSize, max - events.length);
      const page = await this.store.readByStream(upTo, next, wanted);
      for (const event of page.events) events.push(event);
      next = page.next ?? next;
      if (page.events.length < wanted) {
        more = false;
        break;
      }
    }
    return { events, nextAfter: upTo, cursor: next, more };
  }

  private async result(build: Build): Promise<RebuildResult> {
    const rows: Record<string, number> = {};
    for (const table of build.tables) {
      const [{ count }]: { count: string }[] = await this.dataSource.query(
        `SELECT count(*) AS count FROM ${table.live}`,
      );
      rows[table.name] = Number(count);
    }
    return { name: build.projection.name, position: build.position, rows };
  }
}

/** A read started now and awaited later: a failure is reported when awaited, not as unhandled. */
function readAhead(reading: Promise<Batch>): Promise<Batch> {
  reading.catch(() => undefined);
  return reading;
}

/** Builds whose copies stand at the same position, which one pass over the log serves. */
function groupByPosition(builds: Build[]): Build[][] {
  const groups = new Map<number, Build[]>();
  for (const build of builds)
    groups.set(build.position, [...(groups.get(build.position) ?? []), build]);
  return [...groups.values()];
}
