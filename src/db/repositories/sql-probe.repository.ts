import { randomBytes } from 'node:crypto';
import { oneStatement, type Executor } from '../pool.js';

/** The schema where a probe function is created, inside a transaction that always rolls back. */
export const PROBE_SCHEMA = 'etl_probe';

/** One catalog object a statement depends on, directly or through a view, policy, domain or operator. */
export interface CatalogDependency {
  readonly kind: 'function' | 'operator' | 'type' | 'relation' | 'other';
  /** regprocedure / regoperator / regtype / regclass text: `ugc.f(integer)`, `ugc.===(integer,integer)`. */
  readonly ident: string;
  readonly schema: string;
  /** Bare name (function or operator name) without schema or arguments. */
  readonly name: string;
  /** Created by initdb in pg_catalog (never by a user or an extension). */
  readonly builtin: boolean;
  /** For a function that implements a cast: `source AS target`; null otherwise. */
  readonly cast: string | null;
  /** The extension the object belongs to (installed with CREATE EXTENSION), or null. */
  readonly extension: string | null;
  /** pg_class.relkind for a relation, pg_type.typtype for a type; '' otherwise. */
  readonly subkind: string;
  /** The object the statement itself names that led here (`operator ugc.===(integer,integer)`). */
  readonly root: string;
  /** A view's definition (pg_get_viewdef), for views only. */
  readonly viewdef: string | null;
}

/**
 * Lets PostgreSQL resolve a statement without running it: the statement becomes the body of a
 * `BEGIN ATOMIC` SQL function (PostgreSQL ≥ 14), which the server parses and analyses at CREATE time —
 * operators found by search path, implicit casts, domain coercions — and records every object it
 * resolved to in pg_depend. The dependencies are then closed over what runs when they are used: a
 * view's rewrite rule, a table's row-level security policies, a domain's CHECK constraints, an
 * operator's and a type's functions. Built-in (pinned) objects are not recorded by PostgreSQL, so
 * what comes back is everything user-defined or from an extension.
 *
 * Runs inside the caller's transaction, under a savepoint that is always rolled back: the probe
 * function never commits, and a statement PostgreSQL cannot analyse leaves the transaction usable.
 * The statement has passed the parser guard (exactly one statement) and is sent over the extended
 * protocol, so the DDL text cannot hold a second command.
 */
export async function probeDependencies(tx: Executor, statement: string): Promise<CatalogDependency[]> {
  const name = `probe_${randomBytes(6).toString('hex')}`;
  await tx.query('SAVEPOINT siphon_probe');
  try {
    // Analysis takes only share locks, but must not queue behind someone's ALTER TABLE for long.
    await tx.query("SET LOCAL lock_timeout = '5s'");
    await tx.query(
      oneStatement(
        `CREATE FUNCTION ${PROBE_SCHEMA}.${name}() RETURNS void LANGUAGE sql\nBEGIN ATOMIC\n${statement}\n;\nEND`,
      ),
    );
    // Names below come out schema-qualified whatever the session's search path.
    await tx.query('SET LOCAL search_path = pg_catalog');
    const { rows } = await tx.query<CatalogDependency>(DEPENDENCIES_SQL, [`${PROBE_SCHEMA}.${name}()`]);
    return rows;
  } finally {
    await tx.query('ROLLBACK TO SAVEPOINT siphon_probe');
  }
}

const DEPENDENCIES_SQL = `
WITH RECURSIVE edges(src_class, src_obj, dst_class, dst_obj) AS (
  -- a view runs its rewrite rule
  SELECT 'pg_class'::regclass, rw.ev_class, d.refclassid, d.refobjid
    FROM pg_catalog.pg_rewrite rw
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.deptype = 'n'
  UNION ALL
  -- row-level security policies run on every read of their table
  SELECT 'pg_class'::regclass, p.polrelid, d.refclassid, d.refobjid
    FROM pg_catalog.pg_policy p
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid AND d.deptype = 'n'
  UNION ALL
  -- a domain's CHECK constraints run on every value coerced to it
  SELECT 'pg_type'::regclass, c.contypid, d.refclassid, d.refobjid
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = c.oid AND d.deptype = 'n'
   WHERE c.contypid <> 0
  UNION ALL
  -- an operator runs its function (and its estimators); a type its I/O functions and base type
  SELECT d.classid, d.objid, d.refclassid, d.refobjid
    FROM pg_catalog.pg_depend d
   WHERE d.classid IN ('pg_operator'::regclass, 'pg_type'::regclass) AND d.deptype = 'n'
),
found(classid, objid, root_class, root_obj, depth) AS (
  SELECT d.refclassid, d.refobjid, d.refclassid, d.refobjid, 0
    FROM pg_catalog.pg_depend d
   WHERE d.classid = 'pg_proc'::regclass AND d.objid = $1::regprocedure AND d.deptype = 'n'
     AND d.refclassid <> 'pg_namespace'::regclass
  UNION
  SELECT e.dst_class, e.dst_obj, f.root_class, f.root_obj, f.depth + 1
    FROM found f
    JOIN edges e ON e.src_class = f.classid AND e.src_obj = f.objid
   WHERE f.depth < 8 AND e.dst_class <> 'pg_namespace'::regclass
),
objects AS (
  SELECT DISTINCT classid, objid, root_class, root_obj FROM found
)
SELECT CASE o.classid
         WHEN 'pg_proc'::regclass THEN 'function'
         WHEN 'pg_operator'::regclass THEN 'operator'
         WHEN 'pg_type'::regclass THEN 'type'
         WHEN 'pg_class'::regclass THEN 'relation'
         ELSE 'other' END AS kind,
       CASE o.classid
         WHEN 'pg_proc'::regclass THEN o.objid::regprocedure::text
         WHEN 'pg_operator'::regclass THEN o.objid::regoperator::text
         WHEN 'pg_type'::regclass THEN o.objid::regtype::text
         WHEN 'pg_class'::regclass THEN o.objid::regclass::text
         ELSE pg_catalog.pg_describe_object(o.classid, o.objid, 0) END AS ident,
       COALESCE(n.nspname, '') AS schema,
       COALESCE(p.proname, op.oprname, t.typname, c.relname, '') AS name,
       (o.objid < 16384 AND n.nspname = 'pg_catalog') AS builtin,
       (SELECT pg_catalog.format('%s AS %s', k.castsource::regtype, k.casttarget::regtype)
          FROM pg_catalog.pg_cast k
         WHERE o.classid = 'pg_proc'::regclass AND k.castfunc = o.objid LIMIT 1) AS cast,
       (SELECT e.extname FROM pg_catalog.pg_depend x
          JOIN pg_catalog.pg_extension e ON x.refclassid = 'pg_extension'::regclass AND x.refobjid = e.oid
         WHERE x.classid = o.classid AND x.objid = o.objid AND x.deptype = 'e' LIMIT 1) AS extension,
       COALESCE(c.relkind::text, t.typtype::text, '') AS subkind,
       CASE o.root_class
         WHEN 'pg_proc'::regclass THEN 'function ' || o.root_obj::regprocedure::text
         WHEN 'pg_operator'::regclass THEN 'operator ' || o.root_obj::regoperator::text
         WHEN 'pg_type'::regclass THEN 'type ' || o.root_obj::regtype::text
         WHEN 'pg_class'::regclass THEN 'relation ' || o.root_obj::regclass::text
         ELSE pg_catalog.pg_describe_object(o.root_class, o.root_obj, 0) END AS root,
       CASE WHEN c.relkind = 'v' THEN pg_catalog.pg_get_viewdef(c.oid) END AS viewdef
  FROM objects o
  LEFT JOIN pg_catalog.pg_proc p ON o.classid = 'pg_proc'::regclass AND p.oid = o.objid
  LEFT JOIN pg_catalog.pg_operator op ON o.classid = 'pg_operator'::regclass AND op.oid = o.objid
  LEFT JOIN pg_catalog.pg_type t ON o.classid = 'pg_type'::regclass AND t.oid = o.objid
  LEFT JOIN pg_catalog.pg_class c ON o.classid = 'pg_class'::regclass AND c.oid = o.objid
  LEFT JOIN pg_catalog.pg_namespace n
         ON n.oid = COALESCE(p.pronamespace, op.oprnamespace, t.typnamespace, c.relnamespace)
 ORDER BY kind, ident`;
