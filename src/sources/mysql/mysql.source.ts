import { Readable } from 'node:stream';
import type { Connection as CoreConnection } from 'mysql2';
import mysql from 'mysql2/promise';
import { SiphonError } from '../../core/errors.js';
import { normalizeSourceQuery, streamColumns, type BatchCursor, type BatchPlan } from '../../db/batch-sql.js';
import { columnsOfCopyText, CopyTextBuilder } from '../../db/copy-text.js';
import { asSourceFailure } from '../source-errors.js';
import type {
  ConnectionProbe,
  OpenOptions,
  ReconcileShape,
  RemoteColumn,
  RemoteEndpoint,
  RemoteSource,
  RemoteSummary,
  SourceBatch,
} from '../source.js';
import { mapMysqlField, type MysqlColumnPlan, type MysqlField } from './mysql.types.js';

/**
 * A batch kept as the COPY text of its rows, written as each row arrived: copied as it is into an
 * empty target, and turned into columns (decoded) only when a batch is merged.
 */
class CopyTextBatch implements SourceBatch {
  #columns: string[][] | undefined;

  constructor(
    private readonly chunks: readonly Buffer[],
    private readonly width: number,
    readonly rows: number,
    readonly lastCursor: string[] | null,
  ) {}

  get columns(): string[][] {
    // A NULL stays null, as in every streamed batch's columns (the write casts it back).
    this.#columns ??= columnsOfCopyText(this.chunks, this.width) as string[][];
    return this.#columns;
  }

  copyText(): Readable {
    return Readable.from(this.chunks);
  }
}

/**
 * Runs a query whose rows are handed to `onRow` one at a time, as mysql2 parses them (its promise API
 * keeps a whole result). A lost connection is reported on the connection, not on a query read this
 * way (mysql2 passes it only to queries given a callback), so both are listened to.
 */
function eachRow(
  connection: mysql.PoolConnection,
  options: mysql.QueryOptions,
  onRow: (row: Array<string | null>) => void,
): Promise<void> {
  const core = connection.connection as unknown as CoreConnection;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      core.off('error', settle);
      if (error) reject(error);
      else resolve();
    };
    core.on('error', settle);
    core
      .query(options)
      .on('result', (row) => {
        if (!settled) onRow(row as unknown as Array<string | null>);
      })
      .on('error', settle)
      .on('end', () => settle());
  });
}

/**
 * The session's sql_mode without the modes that change how quotes read: NO_BACKSLASH_ESCAPES (a
 * backslash would end no escape, so a string could end where the guard's parser and mysql2's escaping
 * see it go on), ANSI_QUOTES ("…" an identifier where the parser reads a string), and the
 * combinations that hold ANSI_QUOTES (MySQL's and MariaDB's ANSI; MariaDB's ORACLE, MSSQL, DB2,
 * POSTGRESQL and MAXDB), which the server lists by name and would switch it on again.
 */
const MODES_NOT_AS_PARSED = [
  'NO_BACKSLASH_ESCAPES',
  'ANSI_QUOTES',
  'ANSI',
  'ORACLE',
  'MSSQL',
  'DB2',
  'POSTGRESQL',
  'MAXDB',
];
const SQL_MODE_AS_PARSED = `TRIM(BOTH ',' FROM ${MODES_NOT_AS_PARSED.reduce(
  (list, mode) => `REPLACE(${list}, ',${mode},', ',')`,
  "CONCAT(',', @@SESSION.sql_mode, ',')",
)})`;

/** `name` as a MySQL identifier. */
const quote = (name: string) => `\`${name.replaceAll('`', '``')}\``;

/** Privileges that let a credential change a server; SHOW GRANTS lines holding one are reported. */
const WRITE_PRIVILEGES =
  /\b(ALL PRIVILEGES|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|INDEX|FILE|SUPER|TRUNCATE|EXECUTE|EVENT|TRIGGER)\b/i;

/** At most this many roles are read by a connection test (roles granted to roles included). */
const MAX_PROBED_ROLES = 20;

async function showGrants(connection: mysql.PoolConnection, sql: string): Promise<string[]> {
  const [rows] = await connection.query({ sql, rowsAsArray: true });
  return (rows as unknown as unknown[][]).map((row) => String(row[0] ?? ''));
}

/**
 * The write privileges SHOW GRANTS lines hold on every schema, a pattern, or an allowed schema. Only
 * the privileges, their object and a role grantee are read: a line may carry a password hash after.
 */
function writeGrants(lines: readonly string[], allowedSchemas: readonly string[]): string[] {
  const warnings: string[] = [];
  for (const line of lines) {
    const match = /^GRANT (.+?) ON (\S+) TO (`(?:[^`]|``)*`|'(?:[^']|'')*'|[^\s@]+)(@\S+)?/i.exec(line);
    if (!match || !WRITE_PRIVILEGES.test(match[1]!)) continue;
    const on = match[2]!.replaceAll('`', '');
    const db = on.split('.')[0]!;
    if (db === '*' || allowedSchemas.some((s) => s.toLowerCase() === db.toLowerCase()) || db.includes('%')) {
      // A grantee without a host is a role (MariaDB lists a set role's grants by its name).
      const through = match[4] ? '' : ` through the role ${unquote(match[3]!)}`;
      warnings.push(`the user holds ${match[1]!} on ${on}${through}`);
    }
  }
  return warnings;
}

const unquote = (name: string) =>
  /^[`']/.test(name) ? name.slice(1, -1).replaceAll(name[0]!.repeat(2), name[0]!) : name;

/** The roles SHOW GRANTS lines grant (`GRANT \`r\` TO …` in MariaDB, `GRANT \`r\`@\`%\` TO …` in MySQL 8). */
function rolesGranted(lines: readonly string[]): { name: string; host?: string }[] {
  const roles: { name: string; host?: string }[] = [];
  const role = /`((?:[^`]|``)+)`(?:@`((?:[^`]|``)*)`)?/g;
  for (const line of lines) {
    const match = /^GRANT\s+(`.+?)\s+TO\s/i.exec(line);
    if (!match || /\sON\s/i.test(match[1]!)) continue;
    for (const [, name, host] of match[1]!.matchAll(role)) {
      roles.push({
        name: name!.replaceAll('``', '`'),
        ...(host === undefined ? {} : { host: host.replaceAll('``', '`') }),
      });
    }
  }
  return roles;
}

/**
 * A MySQL or MariaDB source (mysql2). This file holds the MySQL dialect's SQL (the one exception per
 * source kind to "SQL lives in src/db/repositories", see src/sources/README.md).
 *
 * Each read: a session in UTC (`time_zone = '+00:00'`) with the server's statement timeout
 * (MariaDB `max_statement_time`, MySQL `max_execution_time`), then `START TRANSACTION READ ONLY`,
 * the keyset query `SELECT … FROM (source_query) AS s WHERE … ORDER BY … LIMIT n`, `COMMIT`. Values
 * come back as the server's text (typeCast), bytes as hex, so nothing is reinterpreted in Node.
 */
export class MysqlSource implements RemoteSource {
  readonly #pool: mysql.Pool;
  readonly #name: string;
  readonly #timeoutMs: number;
  /** From the last describe: how each column is read and compared. */
  readonly #columns = new Map<string, MysqlColumnPlan>();
  #mariadb: boolean | undefined;

  constructor(endpoint: RemoteEndpoint, options: OpenOptions) {
    this.#name = endpoint.name;
    this.#timeoutMs = options.statementTimeoutMs;
    this.#pool = mysql.createPool({
      host: endpoint.host,
      port: endpoint.port,
      database: endpoint.database,
      user: endpoint.user,
      ...(endpoint.password === undefined ? {} : { password: endpoint.password }),
      connectionLimit: 2,
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      enableKeepAlive: true,
      keepAliveInitialDelay: 10_000,
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      multipleStatements: false,
      connectAttributes: { program_name: options.applicationName },
    });
    this.#pool.on('connection', (connection) => connection.on('error', () => {}));
  }

  /** One READ ONLY transaction on one session; a connection that cannot roll back is dropped. */
  async #readOnly<T>(
    work: (connection: mysql.PoolConnection) => Promise<T>,
    options: { discard?: boolean } = {},
  ): Promise<T> {
    let connection: mysql.PoolConnection | undefined;
    let broken = false;
    try {
      connection = await this.#pool.getConnection();
      if (this.#mariadb === undefined) {
        const [rows] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
        this.#mariadb = /mariadb/i.test(String(rows[0]?.v ?? ''));
      }
      // One statement: UTC, the statement timeout, and quotes read as the guard's parser reads them.
      await connection.query(
        `SET SESSION time_zone = '+00:00', sql_mode = ${SQL_MODE_AS_PARSED}, ${
          this.#mariadb
            ? `max_statement_time = ${(this.#timeoutMs / 1000).toFixed(3)}`
            : `max_execution_time = ${Math.round(this.#timeoutMs)}`
        }`,
      );
      await connection.query('START TRANSACTION READ ONLY');
      const result = await work(connection);
      await connection.query('COMMIT');
      return result;
    } catch (error) {
      if (connection) {
        try {
          await connection.query('ROLLBACK');
        } catch {
          broken = true;
        }
      }
      throw asSourceFailure(error, this.#name);
    } finally {
      if (connection) {
        if (broken || options.discard) connection.destroy();
        else connection.release();
      }
    }
  }

  describe(sourceQuery: string): Promise<RemoteColumn[]> {
    return this.#readOnly(async (connection) => {
      const [, fields] = await connection.query(
        `SELECT * FROM (\n${normalizeSourceQuery(sourceQuery)}\n) AS s LIMIT 0`,
      );
      this.#columns.clear();
      return (fields as unknown as MysqlField[]).map((field) => {
        const column = mapMysqlField(field);
        this.#columns.set(field.name, column);
        return {
          name: field.name,
          sourceType: column.sourceType,
          pgType: column.pgType,
          cursorType: column.cursorType,
        };
      });
    });
  }

  /** `(a > ? OR (a = ? AND (b > ? …)))`: the row-value keyset, written so that MySQL uses its indexes. */
  #after(columns: readonly string[], values: readonly string[]): { sql: string; values: string[] } {
    const [first, ...rest] = columns;
    const ph = this.#placeholder(first!);
    const col = this.#key(first!);
    if (rest.length === 0) return { sql: `${col} > ${ph}`, values: [values[0]!] };
    const inner = this.#after(rest, values.slice(1));
    return {
      sql: `(${col} > ${ph} OR (${col} = ${ph} AND (${inner.sql})))`,
      values: [values[0]!, values[0]!, ...inner.values],
    };
  }

  /** A key column as the keyset sorts and compares it (an ENUM or SET as its text). */
  #key(column: string): string {
    const col = `s.${quote(column)}`;
    // Compared byte for byte: under the connection's case-insensitive collation two labels that differ
    // only in case would tie.
    return this.#columns.get(column)?.byText
      ? `CAST(${col} AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin`
      : col;
  }

  /** A column as a read selects it: a FLOAT widened to DOUBLE (MysqlColumnPlan.widened). */
  #read(column: string): string {
    const col = `s.${quote(column)}`;
    return this.#columns.get(column)?.widened ? `(${col} + 0e0) AS ${quote(column)}` : col;
  }

  #placeholder(column: string): string {
    return this.#columns.get(column)?.placeholder ?? '?';
  }

  #typeCast(): NonNullable<mysql.QueryOptions['typeCast']> {
    const binary = new Set([...this.#columns].filter(([, c]) => c.binary).map(([n]) => n));
    return (field: {
      name: string;
      type: string;
      buffer(): Buffer | null;
      string(encoding?: string): string | null;
    }) => {
      if (binary.has(field.name)) {
        const bytes = field.buffer();
        return bytes === null ? null : `\\x${bytes.toString('hex')}`;
      }
      return field.type === 'JSON' ? field.string('utf8') : field.string();
    };
  }

  #assertDescribed(): void {
    if (this.#columns.size === 0) {
      throw new SiphonError('SIPHON_ERR_INTERNAL', 'a MySQL source is read before its query was described');
    }
  }

  /** Rows as read (typeCast), a UTC TIMESTAMP given its `+00`: the text a run writes. */
  #asText(data: Array<Array<string | null>>, order: readonly string[]): Array<Array<string | null>> {
    const utc = order.map((c) => this.#columns.get(c)?.utc === true);
    return data.map((row) => row.map((value, c) => (value !== null && utc[c] ? `${value}+00` : value)));
  }

  readBatch(plan: BatchPlan, cursor: BatchCursor, limit: number): Promise<SourceBatch> {
    this.#assertDescribed();
    const order = streamColumns(plan);
    let where = '';
    let values: string[] = [];
    if (cursor && 'from' in cursor) {
      const key = plan.incrementalKey!;
      where = `WHERE ${this.#key(key)} >= ${this.#placeholder(key)}`;
      values = [cursor.from];
    } else if (cursor) {
      const after = this.#after(plan.cursorColumns, cursor.after);
      where = `WHERE ${after.sql}`;
      values = after.values;
    }
    const sql = `SELECT ${order.map((c) => this.#read(c)).join(', ')} FROM (
${normalizeSourceQuery(plan.sourceQuery)}
) AS s ${where}
ORDER BY ${plan.cursorColumns.map((c) => this.#key(c)).join(', ')}
LIMIT ${Math.trunc(limit)}`;
    const copyColumns = order.map((name) => {
      const column = this.#columns.get(name);
      return { verbatim: column?.verbatim === true, suffix: column?.utc ? '+00' : '' };
    });
    const cursorAt = plan.cursorColumns.map((c) => order.indexOf(c));
    return this.#readOnly(async (connection) => {
      // Row by row as they arrive: a batch never exists as rows, only as its text.
      const text = new CopyTextBuilder(copyColumns);
      let last: ReadonlyArray<string | null> | undefined;
      await eachRow(connection, { sql, values, rowsAsArray: true, typeCast: this.#typeCast() }, (row) => {
        text.add(row);
        last = row;
      });
      const lastCursor = last ? cursorAt.map((c) => last![c] as string) : null;
      return new CopyTextBatch(text.finish(), order.length, text.rows, lastCursor);
    });
  }

  hasNullIncrementalKey(plan: BatchPlan): Promise<boolean> {
    return this.#readOnly(async (connection) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `SELECT EXISTS (SELECT 1 FROM (
${normalizeSourceQuery(plan.sourceQuery)}
) AS s WHERE s.${quote(plan.incrementalKey!)} IS NULL) AS found`,
      );
      return Number(rows[0]?.found ?? 0) === 1;
    });
  }

  /**
   * Reconcile: a column's value as PostgreSQL's text of its mapped type, as far as MySQL renders it
   * alike — integers, decimals (their scale), dates, text and enums as they are; DATETIME and TIMESTAMP
   * with their fraction's trailing zeros trimmed, a TIMESTAMP in UTC with `+00`; bytes as `\x` hex. A
   * FLOAT, DOUBLE, JSON or TIME may render otherwise: its bucket then differs and its rows are compared
   * on Siphon's server, after the cast into the target's type, so it never reports a false difference.
   */
  #canonical(column: string): string {
    const plan = this.#columns.get(column);
    const col = `s.${quote(column)}`;
    let text = `CAST(${col} AS CHAR)`;
    if (plan?.binary) {
      text = `CONCAT(CHAR(92), 'x', LOWER(HEX(${col})))`;
    } else if (plan?.sourceType === 'timestamp' || plan?.sourceType === 'datetime') {
      text = `TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM DATE_FORMAT(${col}, '%Y-%m-%d %H:%i:%s.%f')))`;
      if (plan.utc) text = `CONCAT(${text}, '+00')`;
    }
    return `CONVERT(${text} USING utf8mb4)`;
  }

  /** Framed text of a row (`length:text` per value, `-` for NULL), as reconcile.repository frames it. */
  #framed(columns: readonly string[]): string {
    return `CONCAT(${columns
      .map((c) => {
        const text = this.#canonical(c);
        return `COALESCE(CONCAT(CHAR_LENGTH(${text}), ':', ${text}), '-')`;
      })
      .join(', ')})`;
  }

  #bucket(shape: ReconcileShape): string {
    return `(CAST(CONV(SUBSTR(MD5(${this.#framed(shape.keys)}), 1, 8), 16, 10) AS UNSIGNED) % ${Math.trunc(shape.buckets)})`;
  }

  summarize(sourceQuery: string, key: string, incrementalKey: string | null): Promise<RemoteSummary> {
    this.#assertDescribed();
    const source = `(\n${normalizeSourceQuery(sourceQuery)}\n) AS s`;
    const edge = (column: string, direction: 'ASC' | 'DESC') =>
      `(SELECT ${this.#canonical(column)} FROM ${source} WHERE s.${quote(column)} IS NOT NULL
         ORDER BY ${this.#key(column)} ${direction} LIMIT 1)`;
    const inc = incrementalKey
      ? `${edge(incrementalKey, 'ASC')} AS inc_min, ${edge(incrementalKey, 'DESC')} AS inc_max`
      : 'NULL AS inc_min, NULL AS inc_max';
    return this.#readOnly(async (connection) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `SELECT (SELECT COUNT(*) FROM ${source}) AS n, ${edge(key, 'ASC')} AS key_min, ${edge(key, 'DESC')} AS key_max, ${inc}`,
      );
      const row = rows[0]!;
      const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
      return {
        rows: String(row.n),
        key_min: text(row.key_min),
        key_max: text(row.key_max),
        inc_min: text(row.inc_min),
        inc_max: text(row.inc_max),
      };
    });
  }

  bucketDigests(shape: ReconcileShape): Promise<Map<number, string>> {
    this.#assertDescribed();
    const part = (from: number) => `SUM(CAST(CONV(SUBSTR(h, ${from}, 15), 16, 10) AS UNSIGNED))`;
    return this.#readOnly(async (connection) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>(
        `SELECT bucket, COUNT(*) AS n, ${part(1)} AS a, ${part(16)} AS b
           FROM (SELECT ${this.#bucket(shape)} AS bucket, MD5(${this.#framed(shape.columns)}) AS h
                   FROM (\n${normalizeSourceQuery(shape.sourceQuery)}\n) AS s) AS d
          GROUP BY bucket`,
      );
      return new Map(rows.map((r) => [Number(r.bucket), `${String(r.n)}:${String(r.a)}:${String(r.b)}`]));
    });
  }

  readBuckets(shape: ReconcileShape, buckets: readonly number[]): Promise<Array<Array<string | null>>> {
    this.#assertDescribed();
    if (buckets.length === 0) return Promise.resolve([]);
    const sql = `SELECT ${shape.columns.map((c) => this.#read(c)).join(', ')} FROM (
${normalizeSourceQuery(shape.sourceQuery)}
) AS s WHERE ${this.#bucket(shape)} IN (${buckets.map((b) => Math.trunc(b)).join(', ')})`;
    return this.#readOnly(async (connection) => {
      const [rows] = await connection.query<mysql.RowDataPacket[]>({
        sql,
        rowsAsArray: true,
        typeCast: this.#typeCast(),
      });
      return this.#asText(rows as unknown as Array<Array<string | null>>, shape.columns);
    });
  }

  probe(allowedSchemas: readonly string[]): Promise<ConnectionProbe> {
    return this.#readOnly(
      async (connection) => {
        const [version] = await connection.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
        const lines = await showGrants(connection, 'SHOW GRANTS');
        const warnings = new Set(writeGrants(lines, allowedSchemas));
        // A role's privileges are the user's once it is set. SHOW GRANTS lists those of the roles set
        // now (a default role); one granted but not set is read by setting it (MariaDB sets one role
        // at a time) or with USING (MySQL 8), and so are the roles granted to it.
        const roles = rolesGranted(lines);
        const seen = new Set<string>();
        while (roles.length > 0 && seen.size < MAX_PROBED_ROLES) {
          const role = roles.shift()!;
          const key = `${role.name}@${role.host ?? ''}`;
          if (seen.has(key)) continue;
          seen.add(key);
          try {
            let granted: string[];
            if (this.#mariadb) {
              await connection.query(`SET ROLE ${quote(role.name)}`);
              granted = await showGrants(connection, 'SHOW GRANTS');
            } else {
              granted = await showGrants(
                connection,
                `SHOW GRANTS FOR CURRENT_USER() USING ${quote(role.name)}@${quote(role.host ?? '%')}`,
              );
            }
            for (const warning of writeGrants(granted, allowedSchemas)) warnings.add(warning);
            roles.push(...rolesGranted(granted));
          } catch (error) {
            warnings.add(
              `the user holds the role ${role.name}, whose privileges could not be read (${(error as Error).message})`,
            );
          }
        }
        const unread = roles.filter((r) => !seen.has(`${r.name}@${r.host ?? ''}`));
        if (unread.length > 0) {
          warnings.add(
            `the user holds more than ${MAX_PROBED_ROLES} roles; ${unread[0]!.name} and others were not read`,
          );
        }
        const text = String(version[0]?.v ?? '');
        const server = /mariadb/i.test(text) ? `MariaDB ${text}` : `MySQL ${text}`;
        return { serverVersion: server, readOnly: warnings.size === 0, warnings: [...warnings] };
      },
      // The session's role was changed to read the roles' grants: it is not used again.
      { discard: true },
    );
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {});
  }
}

export function openMysqlSource(endpoint: RemoteEndpoint, options: OpenOptions): RemoteSource {
  return new MysqlSource(endpoint, options);
}
