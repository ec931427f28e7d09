/** Plain lower-case identifiers only: no quoting tricks, no unicode escapes, no dots inside a part. */
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export function isPlainIdentifier(text: string): boolean {
  return IDENT.test(text);
}

/** Quotes an identifier that has already been validated (or comes from the catalog). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export interface QualifiedName {
  readonly schema: string;
  readonly table: string;
}

/** Parses `schema.table` (schema defaults to `defaultSchema`); returns undefined when not plain. */
export function parseQualifiedName(text: string, defaultSchema: string): QualifiedName | undefined {
  const parts = text.split('.');
  if (parts.length > 2 || !parts.every(isPlainIdentifier)) return undefined;
  return parts.length === 2
    ? { schema: parts[0]!, table: parts[1]! }
    : { schema: defaultSchema, table: parts[0]! };
}

export function quoteQualified(name: QualifiedName): string {
  return `${quoteIdent(name.schema)}.${quoteIdent(name.table)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A uuid in its canonical text form (what PostgreSQL accepts for a `uuid` column without an error). */
export function isUuid(text: string): boolean {
  return UUID.test(text);
}
