import { SiphonError } from '../../core/errors.js';

/**
 * PostgreSQL source → PostgreSQL target: a built-in type keeps its own name and modifier
 * (`numeric(12,2)`, `character varying(40)`, `timestamp with time zone`, arrays of them). A type the
 * source server defines itself (an enum, a composite or an extension's type: OID at or above 16384,
 * FirstNormalObjectId) may not exist on the target server: it is refused, cast it in the query
 * (`status::text`). A domain never gets here: PostgreSQL describes a query's column by the domain's
 * base type, which the target gets (without the domain's CHECK).
 *
 * The object identifier types (`regclass`, `regtype`, …) are built in but refused too: their text is
 * the name of an object on the source server, which the target would look up again among its own
 * objects, and find another one or none.
 */
const FIRST_NORMAL_OBJECT_ID = 16_384;

/**
 * A `format_type` answer Siphon will put into CREATE TABLE: words, a modifier, array brackets; or the
 * one quoted built-in name, `"char"`.
 */
const SAFE_TYPE_NAME = /^([a-z][a-z0-9_ ]*(\(\d+(,\s?\d+)?\))?[a-z ]*|"char")(\[\])*$/;

const OBJECT_NAME_TYPE = /^reg[a-z]+(\[\])*$/;

export function mapPostgresType(column: string, typeOid: number, formatted: string): string {
  if (OBJECT_NAME_TYPE.test(formatted)) {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_TYPE_UNMAPPED',
      `column "${column}" has the source type ${formatted}, whose values name objects of the source server: Siphon's server would read them as its own objects; cast it in source_query (for example ::text)`,
      { field: 'source_query', details: { column, sourceType: formatted } },
    );
  }
  if (typeOid >= FIRST_NORMAL_OBJECT_ID || !SAFE_TYPE_NAME.test(formatted) || formatted === 'unknown') {
    throw new SiphonError(
      'SIPHON_ERR_SOURCE_TYPE_UNMAPPED',
      `column "${column}" has the source type ${formatted}, which is not a built-in PostgreSQL type; cast it in source_query (for example ::text)`,
      { field: 'source_query', details: { column, sourceType: formatted } },
    );
  }
  return formatted;
}
