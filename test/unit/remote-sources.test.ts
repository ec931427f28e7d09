import { describe, expect, it } from 'vitest';
import { parseConnectionSpec } from '../../src/core/connection-spec.schema.js';
import { DEFAULT_SQL_POLICY } from '../../src/core/sql-policy.js';
import { assertSafeRemoteQuery } from '../../src/sources/index.js';
import { assertSafeMysqlQuery } from '../../src/sources/mysql/mysql.guard.js';
import { mapMysqlField } from '../../src/sources/mysql/mysql.types.js';
import { mapPostgresType } from '../../src/sources/postgres/postgres.types.js';

const allowed = ['shop'];
const check = (sql: string) => assertSafeMysqlQuery(sql, allowed, DEFAULT_SQL_POLICY);

describe('the MySQL source guard (node-sql-parser)', () => {
  it.each([
    'SELECT id, name FROM items',
    'SELECT i.id, CONCAT(i.name, "!") AS n, COUNT(*) AS c FROM shop.items i JOIN orders o ON o.item = i.id GROUP BY i.id, i.name',
    'WITH recent AS (SELECT id FROM items WHERE updated > NOW() - INTERVAL 1 DAY) SELECT id FROM recent',
    'SELECT id, CAST(flags AS UNSIGNED) AS flags, IFNULL(note, "") AS note FROM items WHERE id IN (SELECT item FROM orders)',
    // Comments the server does not run either, and comment-like text inside quotes.
    "SELECT id, '--x /*!1*/' AS s, `a--b` AS c -- the id\nFROM items /* plain */ # trailing",
    "SELECT id, 'it\\'s /*!' AS s, \"x--y\" AS t FROM items WHERE id - -1 > 0",
    'SELECT id -- Windows line ends\r\nFROM items # here too\r\nWHERE id > 0',
  ])('accepts %s', async (sql) => {
    await expect(check(sql)).resolves.toBeUndefined();
  });

  it.each([
    ["SELECT id FROM items INTO OUTFILE '/tmp/x'", /INTO/],
    ['SELECT id INTO @v FROM items', /INTO|variables/],
    ['SELECT id FROM items FOR UPDATE', /locking/],
    ['SELECT SLEEP(1)', /sleep/],
    ['SELECT id FROM items WHERE BENCHMARK(1000, MD5(1)) = 0', /benchmark/],
    ["SELECT GET_LOCK('x', 10)", /get_lock/],
    ["SELECT LOAD_FILE('/etc/passwd')", /load_file/],
    ['SELECT @@version', /variables/],
    ['SELECT 1; DROP TABLE items', /exactly one statement/],
    ["UPDATE items SET name = 'x'", /SELECT/],
    ['DELETE FROM items', /SELECT/],
    ['SELECT user FROM mysql.user', /mysql\.user/],
    ['SELECT id FROM other.items', /other\.items/],
    ['SELECT id FROM (SELECT id FROM information_schema.tables) t', /information_schema/],
    // Comments the parser skips and the server runs.
    [
      "SELECT id /*!, (SELECT authentication_string FROM mysql.user LIMIT 1) AS h, GET_LOCK('x',0) AS l */ FROM items",
      /executable comments/,
    ],
    ["SELECT id /*M!100000 , LOAD_FILE('/etc/passwd') AS f */ FROM items", /executable comments/],
    ['SELECT /*+ SET_VAR(max_execution_time=0) */ id FROM items', /optimizer hints/],
    ["SELECT id --1, LOAD_FILE('/etc/passwd') AS f\nFROM items", /followed by a space/],
    // A backslash escapes a double quote for the parser as for the server: the call is seen.
    ['SELECT "a\\" AS q, " , LOAD_FILE(0x2F) AS x, "" AS z FROM items', /load_file/],
    // A no-break space is no space to MySQL; a carriage return ends a comment for the parser only.
    ['SELECT a --\u00a0, LOAD_FILE(0x2F) AS x\nFROM items', /followed by a space/],
    ["SELECT #\r'\nLOAD_FILE(0x2F) AS x, 1 #'\n AS y, a FROM items", /carriage return/],
    ['SELECT a --\r, LOAD_FILE(0x2F) AS x\nFROM items', /carriage return/],
  ])('refuses %s', async (sql, reason) => {
    const error = await check(sql).then(
      () => undefined,
      (e: unknown) => e as { code: string; field: string; message: string },
    );
    expect(error, sql).toBeDefined();
    expect(['SIPHON_ERR_SQL_FORBIDDEN', 'SIPHON_ERR_SQL_SYNTAX']).toContain(error!.code);
    expect(error!.field).toBe('source_query');
    expect(error!.message).toMatch(reason);
  });
});

describe('a MySQL connection stored with a system database (before the spec refused one)', () => {
  it('has every source query refused, since a table named without a database is read from it', async () => {
    const row = {
      name: 'old',
      kind: 'mysql' as const,
      host: 'db.internal',
      port: 3306,
      database: 'mysql',
      user: 'reader',
      password_env: null,
      password_secret: null,
      allowed_schemas: ['shop'],
      created_at: new Date(0),
      created_by: 'test',
    };
    await expect(
      assertSafeRemoteQuery(row, 'SELECT User FROM user', DEFAULT_SQL_POLICY),
    ).rejects.toMatchObject({
      code: 'SIPHON_ERR_SQL_FORBIDDEN',
      field: 'source_query',
      message: expect.stringMatching(/system database mysql/),
    });
    await expect(
      assertSafeRemoteQuery({ ...row, database: 'shop' }, 'SELECT id FROM items', DEFAULT_SQL_POLICY),
    ).resolves.toBeUndefined();
  });
});

describe('source type tables', () => {
  const field = (columnType: number, extra: Partial<Parameters<typeof mapMysqlField>[0]> = {}) => ({
    name: 'c',
    columnType,
    flags: 0,
    characterSet: 45,
    columnLength: 11,
    decimals: 0,
    ...extra,
  });

  it('maps MySQL protocol types to PostgreSQL types', () => {
    expect(mapMysqlField(field(3)).pgType).toBe('integer');
    expect(mapMysqlField(field(3, { flags: 32 })).pgType).toBe('bigint');
    expect(mapMysqlField(field(8, { flags: 32 })).pgType).toBe('numeric(20,0)');
    expect(mapMysqlField(field(246, { columnLength: 14, decimals: 3 })).pgType).toBe('numeric(12,3)');
    // A DECIMAL cursor compares as the column's own type, however wide or fine (MariaDB: scale up to 38).
    expect(mapMysqlField(field(246, { columnLength: 14, decimals: 3 })).placeholder).toBe(
      'CAST(? AS DECIMAL(12,3))',
    );
    expect(mapMysqlField(field(246, { columnLength: 66 })).placeholder).toBe('CAST(? AS DECIMAL(65,0))');
    expect(mapMysqlField(field(246, { columnLength: 42, decimals: 38 })).placeholder).toBe(
      'CAST(? AS DECIMAL(40,38))',
    );
    // A FLOAT is read as its exact double; a DOUBLE as it prints.
    expect(mapMysqlField(field(4))).toMatchObject({ pgType: 'real', widened: true });
    expect(mapMysqlField(field(5)).widened).toBeUndefined();
    expect(mapMysqlField(field(7))).toMatchObject({
      pgType: 'timestamp with time zone',
      cursorType: 'timestamp',
      utc: true,
    });
    expect(mapMysqlField(field(12)).pgType).toBe('timestamp');
    expect(mapMysqlField(field(253)).pgType).toBe('text');
    // ENUM and SET (flags 256, 2048): a key sorts and compares as its text.
    expect(mapMysqlField(field(254, { flags: 256 }))).toMatchObject({ pgType: 'text', byText: true });
    expect(mapMysqlField(field(254, { flags: 2048 }))).toMatchObject({ pgType: 'text', byText: true });
    expect(mapMysqlField(field(253)).byText).toBe(false);
    expect(mapMysqlField(field(253, { characterSet: 63 })).placeholder).toBe('UNHEX(SUBSTRING(?, 3))');
    expect(mapMysqlField(field(253, { characterSet: 63 }))).toMatchObject({ pgType: 'bytea', binary: true });
    expect(mapMysqlField(field(252, { characterSet: 63 })).pgType).toBe('bytea');
    expect(mapMysqlField(field(245)).pgType).toBe('jsonb');
    expect(() => mapMysqlField(field(16))).toThrow(/bit/);
    expect(() => mapMysqlField(field(255))).toThrow(/geometry/);
  });

  it('keeps PostgreSQL built-in types and refuses the source server own ones', () => {
    expect(mapPostgresType('a', 1700, 'numeric(10,2)')).toBe('numeric(10,2)');
    expect(mapPostgresType('a', 1009, 'text[]')).toBe('text[]');
    expect(mapPostgresType('a', 1184, 'timestamp(3) with time zone')).toBe('timestamp(3) with time zone');
    expect(() => mapPostgresType('status', 16_500, 'mood')).toThrow(/status.*mood/);
    expect(mapPostgresType('flag', 18, '"char"')).toBe('"char"');
    expect(mapPostgresType('flags', 1002, '"char"[]')).toBe('"char"[]');
    // Built in, but their text names objects of the source server.
    expect(() => mapPostgresType('rel', 2205, 'regclass')).toThrow(
      /rel.*regclass.*objects of the source server/,
    );
    expect(() => mapPostgresType('types', 2211, 'regtype[]')).toThrow(/regtype\[\]/);
    expect(() => mapPostgresType('x', 25, 'text); DROP TABLE t; --')).toThrow();
  });
});

describe('connection spec', () => {
  const base = { name: 'c', kind: 'mysql', host: 'db.internal', database: 'shop', user: 'reader' };
  it('defaults the port by kind and accepts references only', () => {
    expect(parseConnectionSpec(base).port).toBe(3306);
    expect(parseConnectionSpec({ ...base, kind: 'postgres' }).port).toBe(5432);
    expect(() => parseConnectionSpec({ ...base, password_env: 'SIPHON_ADMIN_TOKEN' })).toThrow(
      /SIPHON_SECRET_/,
    );
    expect(() =>
      parseConnectionSpec({ ...base, password_env: 'SIPHON_SECRET_A', password_secret: 'a' }),
    ).toThrow(/not both/);
    expect(() => parseConnectionSpec({ ...base, allowed_schemas: ['mysql'] })).toThrow(/system schema/);
    // A MySQL database is a schema: tables named without one would be read from it.
    expect(() => parseConnectionSpec({ ...base, database: 'MySQL' })).toThrow(/system database/);
    expect(parseConnectionSpec({ ...base, kind: 'postgres', database: 'sys' }).database).toBe('sys');
  });
});
