import type { EntityManager } from 'typeorm';

/** Where rebuilds build their copies: tables keep their live names there, so do their indexes. */
export const REBUILD_SCHEMA = 'accord_rebuild';

/** What a live table is made of, as far as a rebuild has to reproduce it. */
export interface ShadowTable {
  /** The name the projection's SQL uses. */
  name: string;
  /** Schema-qualified and quoted: `public.measure_status`. */
  live: string;
  liveSchema: string;
  /** Schema-qualified and quoted: `accord_rebuild.measure_status`. */
  shadow: string;
  /** Constraints backed by an index (primary key, unique, exclusion): made before any row. */
  constraints: { name: string; definition: string }[];
  /** Other indexes, made once the copy is filled (cheaper than maintaining them row by row). */
  indexes: string[];
  /**
   * Sequences owned by the live table's serial columns: the copy's defaults draw from them, so
   * they are handed over before the live table is dropped. (An identity column gets a sequence
   * of its own in the copy.)
   */
  ownedSequences: { sequence: string; column: string }[];
  /** Table-level statements LIKE does not copy (storage parameters, the table's comment). */
  extras: string[];
}

interface TableRow {
  oid: number;
  schema: string;
  relkind: string;
  live: string;
  shadow: string;
  extras: string[];
}

/**
 * Reads the live table's definition. Refuses what a copy would silently lose: triggers and
 * foreign keys (in either direction). Views or rules on the table make the swap's DROP fail,
 * which rolls the swap back and leaves the live table as it was.
 */
export async function describeTable(manager: EntityManager, name: string): Promise<ShadowTable> {
  const tables: TableRow[] = await manager.query(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relkind,
            format('%I.%I', n.nspname, c.relname) AS live,
            format('%I.%I', $2::text, c.relname) AS shadow,
            array_remove(ARRAY[
              CASE WHEN c.reloptions IS NOT NULL THEN
                format('ALTER TABLE %I.%I SET (%s)', $2::text, c.relname,
                       array_to_string(c.reloptions, ', ')) END,
              CASE WHEN obj_description(c.oid, 'pg_class') IS NOT NULL THEN
                format('COMMENT ON TABLE %I.%I IS %L', $2::text, c.relname,
                       obj_description(c.oid, 'pg_class')) END
            ], NULL) AS extras
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [name, REBUILD_SCHEMA],
  );
  const table = tables[0];
  if (!table) throw new Error(`Table ${name} does not exist`);
  if (table.relkind !== 'r') throw new Error(`${table.live} is not a plain table`);
  if (table.schema === REBUILD_SCHEMA) throw new Error(`${table.live} is itself a rebuild's copy`);

  const refused: { what: string }[] = await manager.query(
    `SELECT 'trigger ' || tgname AS what FROM pg_trigger WHERE tgrelid = $1 AND NOT tgisinternal
     UNION ALL
     SELECT 'foreign key ' || conname FROM pg_constraint
      WHERE contype = 'f' AND (conrelid = $1 OR confrelid = $1)`,
    [table.oid],
  );
  if (refused.length) {
    throw new Error(
      `${table.live} cannot be rebuilt beside itself: a copy would lose its ` +
        refused.map((row) => row.what).join(', '),
    );
  }
  const constraints: { name: string; definition: string }[] = await manager.query(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
      WHERE conrelid = $1 AND contype IN ('p', 'u', 'x') ORDER BY conname`,
    [table.oid],
  );
  const indexes: { definition: string }[] = await manager.query(
    `SELECT pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = $1
        AND NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = i.indexrelid AND conrelid = $1)
      ORDER BY c.relname`,
    [table.oid],
  );
  const ownedSequences: { sequence: string; column: string }[] = await manager.query(
    `SELECT d.objid::regclass::text AS sequence, quote_ident(a.attname) AS column
       FROM pg_depend d
       JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
      WHERE d.refobjid = $1 AND d.classid = 'pg_class'::regclass
        AND d.deptype = 'a' AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S'`,
    [table.oid],
  );
  return {
    name,
    live: table.live,
    liveSchema: table.schema,
    shadow: table.shadow,
    constraints,
    indexes: indexes.map(({ definition }) => onShadow(definition, table.live, table.shadow)),
    ownedSequences,
    extras: table.extras,
  };
}

/** `CREATE INDEX x ON public.t USING …` → the same index, same name, on the copy. */
function onShadow(definition: string, live: string, shadow: string): string {
  const from = ` ON ${live} USING `;
  if (!definition.includes(from)) throw new Error(`Cannot copy the index ${definition}`);
  return definition.replace(from, ` ON ${shadow} USING `);
}

/** An empty copy of the table with its columns, defaults, checks and key constraints. */
export async function createShadow(manager: EntityManager, table: ShadowTable): Promise<void> {
  await manager.query(`CREATE SCHEMA IF NOT EXISTS ${REBUILD_SCHEMA}`);
  await manager.query(`DROP TABLE IF EXISTS ${table.shadow}`);
  await manager.query(
    `CREATE TABLE ${table.shadow} (LIKE ${table.live} INCLUDING ALL EXCLUDING INDEXES)`,
  );
  for (const constraint of table.constraints) {
    await manager.query(
      `ALTER TABLE ${table.shadow} ADD CONSTRAINT ${quoteIdent(constraint.name)} ${constraint.definition}`,
    );
  }
  for (const statement of table.extras) await manager.query(statement);
}

/** The remaining indexes, then fresh planner statistics, before the copy goes live. */
export async function finishShadow(manager: EntityManager, table: ShadowTable): Promise<void> {
  for (const definition of table.indexes) await manager.query(definition);
  await manager.query(`ANALYZE ${table.shadow}`);
}

export async function dropShadow(manager: EntityManager, table: ShadowTable): Promise<void> {
  await manager.query(`DROP TABLE IF EXISTS ${table.shadow}`);
}

/**
 * Replaces the live table with its copy, inside the caller's transaction (which holds the live
 * table's ACCESS EXCLUSIVE lock). The copy keeps its indexes' and constraints' names.
 */
export async function swapShadow(manager: EntityManager, table: ShadowTable): Promise<void> {
  for (const { sequence, column } of table.ownedSequences) {
    await manager.query(`ALTER SEQUENCE ${sequence} OWNED BY ${table.shadow}.${column}`);
  }
  await manager.query(`DROP TABLE ${table.live}`);
  await manager.query(`ALTER TABLE ${table.shadow} SET SCHEMA ${quoteIdent(table.liveSchema)}`);
}

/**
 * Runs `work` with only the rebuild schema on the search path, so that the projection's
 * unqualified table names mean the copies, then restores the path for the rest of the
 * transaction (the checkpoint lives in the live schema).
 */
export async function inRebuildSchema<T>(
  manager: EntityManager,
  work: () => Promise<T>,
): Promise<T> {
  const [{ previous }]: { previous: string }[] = await manager.query(
    `SELECT current_setting('search_path') AS previous`,
  );
  await manager.query(`SELECT set_config('search_path', $1, true)`, [REBUILD_SCHEMA]);
  const result = await work();
  await manager.query(`SELECT set_config('search_path', $1, true)`, [previous]);
  return result;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
