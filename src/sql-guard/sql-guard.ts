import { parse } from 'libpg-query';
import { SiphonError } from '../core/errors.js';
import { DEFAULT_SQL_POLICY, type SqlPolicy } from '../core/sql-policy.js';
import { ALLOWED_FUNCTIONS } from './allowed-functions.js';

export {
  DEFAULT_PLAN_LIMITS,
  DEFAULT_SQL_POLICY,
  type PlanLimits,
  type SqlPolicy,
} from '../core/sql-policy.js';

type Node = Record<string, unknown>;

/**
 * Checks a source query with PostgreSQL's own parser (libpg_query): exactly one read-only SELECT
 * (CTEs allowed) over relations in the allowed schemas, calling only allowed functions. Comments,
 * quoting and unicode escapes cannot hide anything: the walk sees the parse tree, not the text.
 * Throws SIPHON_ERR_SQL_SYNTAX or SIPHON_ERR_SQL_FORBIDDEN naming the offending part.
 */
export async function assertSafeSourceQuery(
  sql: string,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
  field = 'source_query',
) {
  const stmts = await parseStatements(sql, field);
  const top = stmts[0]!;
  if (!('SelectStmt' in top)) {
    forbid(field, `must be a SELECT; found ${statementName(top)}`);
  }
  walk(top, { policy, ctes: new Set<string>(), field, reads: policy.sourceSchemas, writes: [] });
}

/**
 * Checks a SQL step: one statement — SELECT, INSERT, UPDATE, DELETE, MERGE, REFRESH MATERIALIZED
 * VIEW or ANALYZE — that writes only tables in the target schemas and reads only the source and
 * target schemas, calling only allowed functions.
 */
export async function assertSafeTaskSql(
  sql: string,
  policy: SqlPolicy = DEFAULT_SQL_POLICY,
  field = 'tasks.sql',
) {
  const stmts = await parseStatements(sql, field);
  const top = stmts[0]!;
  const kind = Object.keys(top)[0]!;
  const body = top[kind] as Node;
  const writable = ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];
  const reads = [...policy.sourceSchemas, ...policy.targetSchemas];
  if (kind === 'RefreshMatViewStmt' || kind === 'VacuumStmt') {
    if (kind === 'VacuumStmt' && body.is_vacuumcmd === true) {
      forbid(field, 'VACUUM is not allowed in a step; ANALYZE is');
    }
    const relations = kind === 'RefreshMatViewStmt' ? [body.relation as Node] : relationsOfVacuum(body);
    for (const relation of relations)
      checkRelation(relation, policy.targetSchemas, new Set(), field, 'write');
    return;
  }
  if (kind !== 'SelectStmt' && !writable.includes(kind)) {
    forbid(
      field,
      `a step may be SELECT, INSERT, UPDATE, DELETE, MERGE, REFRESH MATERIALIZED VIEW or ANALYZE; found ${statementName(top)}`,
    );
  }
  if (writable.includes(kind))
    checkRelation(body.relation as Node, policy.targetSchemas, new Set(), field, 'write');
  walk(top, {
    policy,
    ctes: new Set<string>(),
    field,
    reads,
    writes: policy.targetSchemas,
    topWrite: body,
  });
}

/** A target must be a plain table name in an allowed target schema. */
export function assertAllowedTarget(schema: string, policy: SqlPolicy = DEFAULT_SQL_POLICY): void {
  if (!policy.targetSchemas.includes(schema)) {
    throw new SiphonError(
      'SIPHON_ERR_TARGET_FORBIDDEN',
      `target_table must be in ${policy.targetSchemas.join(' or ')}; schema "${schema}" is not allowed`,
      { field: 'target_table' },
    );
  }
}

async function parseStatements(sql: string, field: string): Promise<Node[]> {
  let tree: { stmts?: Array<{ stmt: Node }> };
  if (sql.trim() === '') forbid(field, 'must be exactly one statement; found 0');
  // The C parser stops at a NUL byte; PostgreSQL would then see text the guard never read.
  if (sql.includes('\u0000')) forbid(field, 'contains a NUL character');
  try {
    tree = (await parse(sql)) as typeof tree;
  } catch (error) {
    const position = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition;
    throw new SiphonError('SIPHON_ERR_SQL_SYNTAX', `${field}: ${(error as Error).message}`, {
      field,
      ...(position === undefined ? {} : { details: { position } }),
    });
  }
  const stmts = (tree.stmts ?? []).map((s) => s.stmt);
  if (stmts.length !== 1) forbid(field, `must be exactly one statement; found ${stmts.length}`);
  return stmts;
}

interface WalkContext {
  readonly policy: SqlPolicy;
  readonly ctes: ReadonlySet<string>;
  readonly field: string;
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** The statement a step may write with (its own relation is checked separately). */
  readonly topWrite?: Node;
}

function walk(value: unknown, ctx: WalkContext): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, ctx);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Node;
  // A statement with a WITH clause: its CTE names are visible only inside this statement.
  const scope = node.withClause ? walkWith(node.withClause as Node, ctx) : ctx;
  for (const [key, child] of Object.entries(node)) {
    if (key === 'withClause') continue;
    // Node types are capitalised (SelectStmt, RangeVar); fields are not (selectStmt, relation).
    const isNode = /^[A-Z]/.test(key) && child !== null && typeof child === 'object' && !Array.isArray(child);
    if (isNode) checkNode(key, child as Node, scope);
    walk(child, scope);
  }
}

/**
 * Walks the CTE bodies of a WITH clause with PostgreSQL's scoping — a body sees the CTEs before it
 * (all of them when RECURSIVE) and the enclosing ones — and returns the scope of the statement that
 * owns the clause. An unqualified name outside that scope resolves through search_path, so it must
 * not pass as a CTE.
 */
function walkWith(withClause: Node, ctx: WalkContext): WalkContext {
  const ctes = ((withClause.ctes as Node[] | undefined) ?? []).map((c) => c.CommonTableExpr as Node);
  const visible = new Set(ctx.ctes);
  if (withClause.recursive) for (const cte of ctes) visible.add(String(cte.ctename));
  for (const cte of ctes) {
    walk(cte.ctequery, { ...ctx, ctes: new Set(visible) });
    visible.add(String(cte.ctename));
  }
  return { ...ctx, ctes: visible };
}

function checkNode(type: string, node: Node, ctx: WalkContext): void {
  const { field } = ctx;
  if (type.endsWith('Stmt') && type !== 'SelectStmt') {
    const isTopWrite = ctx.topWrite === node;
    if (!isTopWrite) {
      const what = { InsertStmt: 'INSERT', UpdateStmt: 'UPDATE', DeleteStmt: 'DELETE', MergeStmt: 'MERGE' }[
        type
      ];
      forbid(
        field,
        what
          ? `a data-modifying ${what} inside the query is not allowed`
          : `${statementName({ [type]: node })} is not allowed`,
      );
    }
  }
  switch (type) {
    case 'SelectStmt':
      if (node.intoClause) forbid(field, 'SELECT … INTO creates a table; not allowed');
      if (node.lockingClause) forbid(field, 'FOR UPDATE / FOR SHARE takes row locks; not allowed');
      break;
    case 'RangeVar':
      if (ctx.topWrite && (ctx.topWrite.relation as Node | undefined) === node) break;
      checkRelation(node, ctx.reads, ctx.ctes, field, 'read');
      break;
    case 'FuncCall':
      checkFunction(node, field, ctx.policy.extraFunctions ?? []);
      break;
    case 'A_Expr':
      checkOperatorName(node.name, field);
      break;
    case 'SubLink':
      checkOperatorName(node.operName, field);
      break;
    case 'SortBy':
      checkOperatorName(node.useOp, field);
      break;
    case 'TypeCast':
    case 'TypeName': {
      const names =
        (type === 'TypeCast'
          ? ((node.typeName as Node | undefined)?.names as Node[] | undefined)
          : (node.names as Node[] | undefined)) ?? [];
      const last = String((names.at(-1)?.String as Node | undefined)?.sval ?? '');
      if (/^reg[a-z]*$/.test(last)) forbid(field, `a cast to ${last} looks up catalog objects; not allowed`);
      break;
    }
    case 'ParamRef':
      forbid(field, 'parameters ($1) are not supported in a pipeline query');
      break;
    case 'XmlExpr':
    case 'XmlSerialize':
      forbid(field, 'XML functions are not allowed');
      break;
    default:
      break;
  }
}

function checkRelation(
  node: Node,
  schemas: readonly string[],
  ctes: ReadonlySet<string>,
  field: string,
  verb: 'read' | 'write',
) {
  const name = String(node.relname ?? '');
  const schema = node.schemaname === undefined ? undefined : String(node.schemaname);
  if (node.catalogname !== undefined)
    forbid(field, `cross-database reference ${String(node.catalogname)}.${schema}.${name} is not allowed`);
  if (schema === undefined) {
    if (verb === 'read' && ctes.has(name)) return;
    forbid(
      field,
      `table "${name}" must be written with its schema (${schemas.map((s) => `${s}.${name}`).join(' or ')})`,
    );
  }
  if (!schemas.includes(schema!)) {
    forbid(
      field,
      `${verb === 'read' ? 'reading' : 'writing'} ${schema}.${name} is not allowed; allowed schemas: ${schemas.join(', ')}`,
    );
  }
}

function checkFunction(node: Node, field: string, extra: readonly string[]): void {
  const problem = functionProblem(node, extra);
  if (problem) forbid(field, problem);
}

/** Why a function call is refused, or undefined when it is allowed. */
function functionProblem(node: Node, extra: readonly string[]): string | undefined {
  const parts = ((node.funcname as Node[] | undefined) ?? []).map((p) =>
    String((p.String as Node | undefined)?.sval ?? '').toLowerCase(),
  );
  const name = parts.at(-1)!;
  const qualified = parts.join('.');
  if (extra.includes(qualified) || (parts.length === 1 && extra.includes(name))) return undefined;
  const schema = parts.length > 1 ? parts[0] : undefined;
  if (schema !== undefined && schema !== 'pg_catalog') return `function ${qualified} is not allowed`;
  if (!ALLOWED_FUNCTIONS.has(name)) return `function ${name}() is not allowed in a pipeline query`;
  return undefined;
}

/**
 * `OPERATOR(schema.op)` (in an expression, `ANY`/`ALL` sub-select or `ORDER BY … USING`) names an
 * operator outside pg_catalog explicitly: refused here with its name. Operators found by search path
 * on user types are not visible in the tree; the catalog probe (catalog-guard.ts) resolves those.
 */
function checkOperatorName(name: unknown, field: string): void {
  if (!Array.isArray(name) || name.length < 2) return;
  const parts = (name as Node[]).map((p) => String((p.String as Node | undefined)?.sval ?? ''));
  if (parts[0]!.toLowerCase() === 'pg_catalog') return;
  forbid(field, `operator ${parts.join('.')} is not allowed: only built-in operators may be used`);
}

/**
 * Checks only the functions a statement calls against the allow-list (used for the definition of a
 * view a query reads: the view's own tables are its owner's business, the functions it runs are not).
 */
export async function assertAllowedFunctionCalls(
  sql: string,
  policy: SqlPolicy,
  field: string,
  where: string,
): Promise<void> {
  const stmts = await parseStatements(sql, field);
  const extra = policy.extraFunctions ?? [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (value === null || typeof value !== 'object') return;
    for (const [key, child] of Object.entries(value as Node)) {
      const problem = key === 'FuncCall' ? functionProblem(child as Node, extra) : undefined;
      if (problem) forbid(field, `reading ${where} is not allowed: ${problem} (its definition calls it)`);
      visit(child);
    }
  };
  visit(stmts);
}

function relationsOfVacuum(body: Node): Node[] {
  return ((body.rels as Node[] | undefined) ?? []).map((r) => (r.VacuumRelation as Node).relation as Node);
}

function statementName(stmt: Node): string {
  const kind = Object.keys(stmt)[0] ?? 'an unknown statement';
  return kind
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function forbid(field: string, message: string): never {
  throw new SiphonError('SIPHON_ERR_SQL_FORBIDDEN', `${field}: ${message}`, { field });
}
