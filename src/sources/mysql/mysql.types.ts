import { SiphonError } from '../../core/errors.js';

/** What the MySQL protocol says about a result column (mysql2's field packet). */
export interface MysqlField {
  readonly name: string;
  readonly columnType: number;
  readonly flags: number;
  readonly characterSet: number;
  readonly columnLength: number;
  readonly decimals: number;
}

/** How a column's values are read, compared and written. */
export interface MysqlColumnPlan {
  readonly sourceType: string;
  readonly pgType: string;
  /** PostgreSQL type of the cursor value as read (a TIMESTAMP is read as UTC wall-clock `timestamp`). */
  readonly cursorType: string;
  /** Bytes: read as a buffer, written as `\x…` hex for bytea. */
  readonly binary: boolean;
  /** MySQL TIMESTAMP: read in the UTC session, written with `+00` for timestamptz. */
  readonly utc: boolean;
  /**
   * Its text never holds a backslash, a tab or a line break (numbers, dates, times): written to COPY as
   * it is.
   */
  readonly verbatim: boolean;
  /** The placeholder of a cursor value in the keyset predicate (so a bigint compares as an integer). */
  readonly placeholder: string;
  /**
   * ENUM or SET: MySQL sorts it by its position in the list but compares it with a string as text, so
   * the keyset sorts and compares it as text (`CAST(… AS CHAR)`); ordered by position, a key range
   * would skip the values whose text sorts before the cursor's.
   */
  readonly byText?: boolean;
  /**
   * FLOAT: read as a DOUBLE (`+ 0e0`). MySQL prints a FLOAT to 6 significant digits (123456792 as
   * `123457000`), which loses the value and, for a key, makes the keyset stall or skip; the double of
   * a float is exact, and PostgreSQL's `real` reads its text back to the same float.
   */
  readonly widened?: boolean;
}

const ENUM_FLAG = 256;
const SET_FLAG = 2048;

const UNSIGNED = 32;
const BINARY_CHARSET = 63;

/**
 * The type table of MySQL and MariaDB sources (docs/architecture.md, "Sources in other databases"):
 * by the protocol's column type, its UNSIGNED flag and its character set (63 = binary).
 */
export function mapMysqlField(field: MysqlField): MysqlColumnPlan {
  const unsigned = (field.flags & UNSIGNED) !== 0;
  const binary = field.characterSet === BINARY_CHARSET;
  const plain = (sourceType: string, pgType: string, placeholder = '?', verbatim = true) => ({
    sourceType,
    pgType,
    cursorType: pgType,
    binary: false,
    utc: false,
    verbatim,
    placeholder,
  });
  const int = (name: string, signedType: string, unsignedType: string) =>
    plain(
      `${name}${unsigned ? ' unsigned' : ''}`,
      unsigned ? unsignedType : signedType,
      unsigned ? 'CAST(? AS UNSIGNED)' : 'CAST(? AS SIGNED)',
    );
  switch (field.columnType) {
    case 1:
      return int('tinyint', 'smallint', 'smallint');
    case 2:
      return int('smallint', 'smallint', 'integer');
    case 9:
      return int('mediumint', 'integer', 'integer');
    case 3:
      return int('int', 'integer', 'bigint');
    case 8:
      return int('bigint', 'bigint', 'numeric(20,0)');
    case 13:
      return plain('year', 'smallint', 'CAST(? AS SIGNED)');
    case 4:
      return { ...plain('float', 'real'), widened: true };
    case 5:
      return plain('double', 'double precision');
    case 0:
    case 246: {
      const precision = field.columnLength - (field.decimals > 0 ? 1 : 0) - (unsigned ? 0 : 1);
      const pgType =
        precision >= 1 && precision <= 65 && field.decimals <= precision
          ? `numeric(${precision},${field.decimals})`
          : 'numeric';
      // A cursor value is compared as the column's own DECIMAL: a wider or narrower one would clip a
      // key of more than 35 integer digits or a scale above 30 (MariaDB allows 38), and stall the keyset.
      const own = precision >= 1 && precision <= 65 && field.decimals <= Math.min(precision, 38);
      return plain(
        'decimal',
        pgType,
        own ? `CAST(? AS DECIMAL(${precision},${field.decimals}))` : 'CAST(? AS DECIMAL(65,30))',
      );
    }
    case 10:
    case 14:
      return plain('date', 'date', 'CAST(? AS DATE)');
    case 12:
      return plain('datetime', 'timestamp', 'CAST(? AS DATETIME(6))');
    case 7:
      return {
        sourceType: 'timestamp',
        pgType: 'timestamp with time zone',
        cursorType: 'timestamp',
        binary: false,
        utc: true,
        verbatim: true,
        placeholder: 'CAST(? AS DATETIME(6))',
      };
    case 11:
      return plain('time', 'interval');
    case 245:
      return plain('json', 'jsonb', '?', false);
    case 6:
      return plain('null', 'text', '?', false);
    case 15:
    case 253:
    case 254:
    case 247:
    case 248:
    case 249:
    case 250:
    case 251:
    case 252: {
      const blob = field.columnType >= 249 && field.columnType <= 252;
      const name = blob ? (binary ? 'blob' : 'text') : binary ? 'varbinary' : 'varchar';
      // A bytes cursor is kept as bytea's `\x…` text: compared as the bytes it stands for, not as text.
      return binary
        ? { ...plain(name, 'bytea', 'UNHEX(SUBSTRING(?, 3))', false), binary: true }
        : { ...plain(name, 'text', '?', false), byText: (field.flags & (ENUM_FLAG | SET_FLAG)) !== 0 };
    }
    default:
      throw new SiphonError(
        'SIPHON_ERR_SOURCE_TYPE_UNMAPPED',
        `column "${field.name}" has a MySQL type (${typeName(field.columnType)}) that Siphon does not map to PostgreSQL; convert it in source_query (for example CAST(… AS CHAR))`,
        { field: 'source_query', details: { column: field.name, sourceType: typeName(field.columnType) } },
      );
  }
}

function typeName(columnType: number): string {
  return { 16: 'bit', 255: 'geometry' }[columnType] ?? `type ${columnType}`;
}
