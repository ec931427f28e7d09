import sqlParser from 'node-sql-parser';
import { SYSTEM_SCHEMAS } from '../../core/connection-spec.schema.js';
import { SiphonError } from '../../core/errors.js';
import type { SqlPolicy } from '../../core/sql-policy.js';

const parser = new sqlParser.Parser();

/**
 * Functions a MySQL source query may call: pure computations on values. Everything else is refused —
 * SLEEP, BENCHMARK, GET_LOCK, LOAD_FILE, user-variable tricks, anything with a side effect or that
 * reads the server rather than the data. More can be added with SIPHON_SQL_EXTRA_FUNCTIONS.
 */
const ALLOWED_FUNCTIONS = new Set(
  `ABS CEIL CEILING FLOOR ROUND TRUNCATE MOD SIGN POW POWER SQRT EXP LN LOG LOG2 LOG10 GREATEST LEAST
   COALESCE IFNULL NULLIF IF ISNULL CONCAT CONCAT_WS LOWER UPPER LCASE UCASE LENGTH CHAR_LENGTH
   CHARACTER_LENGTH OCTET_LENGTH SUBSTRING SUBSTR SUBSTRING_INDEX MID LEFT RIGHT TRIM LTRIM RTRIM REPLACE LPAD
   RPAD REVERSE LOCATE INSTR POSITION FIELD FIND_IN_SET ELT FORMAT HEX UNHEX MD5 SHA1 SHA2 CRC32 ASCII
   DATE TIME YEAR MONTH DAY DAYOFMONTH DAYOFWEEK DAYOFYEAR WEEK HOUR MINUTE SECOND MICROSECOND QUARTER
   DATE_FORMAT TIME_FORMAT DATE_ADD DATE_SUB ADDDATE SUBDATE ADDTIME SUBTIME DATEDIFF TIMEDIFF TIMESTAMPDIFF
   TIMESTAMPADD STR_TO_DATE UNIX_TIMESTAMP FROM_UNIXTIME CONVERT_TZ LAST_DAY MAKEDATE NOW CURDATE CURTIME
   CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP UTC_DATE UTC_TIME UTC_TIMESTAMP JSON_EXTRACT JSON_UNQUOTE
   JSON_OBJECT JSON_ARRAY JSON_CONTAINS JSON_LENGTH JSON_VALUE JSON_KEYS JSON_TYPE CAST CONVERT
   COUNT SUM AVG MIN MAX GROUP_CONCAT BIT_AND BIT_OR STD STDDEV VARIANCE ROW_NUMBER RANK DENSE_RANK`.split(
    /\s+/,
  ),
);

type Node = Record<string, unknown>;

function forbid(field: string, message: string): never {
  throw new SiphonError('SIPHON_ERR_SQL_FORBIDDEN', `${field}: ${message}`, { field });
}

/** The name a function node carries (`{ name: [{ value }] }` in node-sql-parser 5, a string before). */
function functionName(node: Node): string {
  const name = node.name as unknown;
  if (typeof name === 'string') return name;
  const parts = (name as { name?: Array<{ value?: unknown }> } | undefined)?.name ?? [];
  return parts.map((p) => String(p.value ?? '')).join('.');
}

/**
 * A MySQL/MariaDB source query, checked with node-sql-parser's MariaDB grammar: exactly one SELECT,
 * no INTO (OUTFILE, DUMPFILE, variables), no locking clause, no user or system variables, only
 * allowed functions, tables only in the connection's schemas (a name without one is in its database).
 * The server then runs it inside `SELECT … FROM (query) AS s`, in a READ ONLY transaction.
 */
export async function assertSafeMysqlQuery(
  sql: string,
  allowedSchemas: readonly string[],
  policy: SqlPolicy,
  field = 'source_query',
): Promise<void> {
  if (sql.includes('\u0000')) forbid(field, 'contains a NUL character');
  const hidden = commentTheServerRuns(sql);
  if (hidden) forbid(field, hidden);
  const options = { database: 'MariaDB' };
  let ast: unknown;
  let tables: string[];
  try {
    ast = parser.astify(sql, options);
    tables = parser.tableList(sql, options);
  } catch (error) {
    throw new SiphonError('SIPHON_ERR_SQL_SYNTAX', `${field}: ${(error as Error).message.slice(0, 500)}`, {
      field,
    });
  }
  const statements = Array.isArray(ast) ? (ast as Node[]) : [ast as Node];
  if (statements.length !== 1) forbid(field, `must be exactly one statement; found ${statements.length}`);
  if (statements[0]!.type !== 'select')
    forbid(field, `must be a SELECT; found ${String(statements[0]!.type)}`);
  const extra = new Set((policy.extraFunctions ?? []).map((f) => f.toUpperCase()));
  walk(statements[0], field, extra);
  const allowed = allowedSchemas.map((s) => s.toLowerCase());
  for (const entry of tables) {
    const [verb, db, table] = entry.split('::');
    if (verb !== 'select') forbid(field, `${verb} of ${table} is not allowed`);
    if (db === 'null' || db === undefined) continue; // its own database, or a CTE's name
    if (SYSTEM_SCHEMAS.includes(db.toLowerCase()) || !allowed.includes(db.toLowerCase())) {
      forbid(field, `reading ${db}.${table} is not allowed; allowed schemas: ${allowedSchemas.join(', ')}`);
    }
  }
}

function walk(value: unknown, field: string, extra: ReadonlySet<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, field, extra);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const node = value as Node;
  if (node.type === 'select' || 'locking_read' in node) {
    const into = node.into as { position?: unknown; keyword?: unknown; type?: unknown } | null | undefined;
    if (into && (into.position || into.keyword || into.type)) forbid(field, 'SELECT … INTO is not allowed');
    if (node.locking_read) forbid(field, `a locking clause (${String(node.locking_read)}) is not allowed`);
  }
  if (node.type === 'var' || node.type === 'assign') {
    forbid(field, 'variables (@name, @@name) are not allowed');
  }
  if (node.type === 'function' || node.type === 'aggr_func') {
    const name = functionName(node).toUpperCase();
    if (!ALLOWED_FUNCTIONS.has(name) && !extra.has(name)) {
      forbid(field, `function ${name.toLowerCase()}() is not allowed in a source query`);
    }
  }
  for (const child of Object.values(node)) walk(child, field, extra);
}

/** After `--`: an ASCII space or control character makes it a comment (not NBSP or other spaces). */
const startsComment = (ch: string) => ch.charCodeAt(0) <= 0x20 || ch.charCodeAt(0) === 0x7f;

/**
 * Where the server and the parser read a comment differently, or null. node-sql-parser skips every
 * `/* … *\/` and every `--`; MySQL and MariaDB run what `/*! … *\/` and `/*M! … *\/` hold (version
 * comments), MySQL applies optimizer hints `/*+ … *\/` (SET_VAR changes a session variable such as
 * the statement timeout), and a `--` starts a comment only when whitespace or a control character
 * follows it (`--1` is minus minus one). Text the parser never checked would run: such a query is
 * refused. Quoted strings and identifiers are skipped, so `'--x'` or `'/*!'` inside them are fine.
 */
export function commentTheServerRuns(sql: string): string | null {
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = endOfQuoted(sql, i, ch);
    } else if (ch === '#') {
      i = lineEnd(sql, i);
      if (i < 0) return CARRIAGE_RETURN;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const next = sql[i + 2];
      if (next === undefined || !startsComment(next)) {
        return '"--" must be followed by a space to start a comment (MySQL reads "--x" as two minus signs); write "- -" or "-- " instead';
      }
      i = lineEnd(sql, i);
      if (i < 0) return CARRIAGE_RETURN;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const body = sql.slice(i + 2, i + 4);
      if (body.startsWith('!') || body.startsWith('+') || /^m!/iu.test(body)) {
        return 'executable comments (/*! … */, /*M! … */) and optimizer hints (/*+ … */) are not allowed: the server runs them';
      }
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      i += 1;
    }
  }
  return null;
}

/** The index after a quoted string or identifier that starts at `start` (backslash escapes, doubled quotes). */
function endOfQuoted(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (ch === '\\' && quote !== '`') i += 2;
    else if (ch === quote && sql[i + 1] === quote) i += 2;
    else if (ch === quote) return i + 1;
    else i += 1;
  }
  return sql.length;
}

const CARRIAGE_RETURN =
  'a carriage return inside a "#" or "--" comment is not allowed: the parser ends the comment there, the server only at a line feed';

/**
 * The index after the line comment that starts at `start`, or -1 when a `\r` inside it is not the
 * `\r` of a `\r\n` (the parser would read what follows it as code, the server as comment).
 */
function lineEnd(sql: string, start: number): number {
  const found = sql.indexOf('\n', start);
  const end = found < 0 ? sql.length : found;
  const cr = sql.indexOf('\r', start);
  if (cr >= 0 && cr < end && !(cr === end - 1 && found >= 0)) return -1;
  return found < 0 ? sql.length : found + 1;
}
