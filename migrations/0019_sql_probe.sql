-- The SQL guard's catalog probe (src/sql-guard/catalog-guard.ts, docs/adr/0012-…): pipeline SQL is
-- compiled by PostgreSQL into the body of a throwaway `BEGIN ATOMIC` function in this schema, inside a
-- transaction or savepoint that is always rolled back, so the server itself says which operators,
-- casts and functions the SQL resolves to. Nothing here is ever committed, read or executed.
CREATE SCHEMA IF NOT EXISTS etl_probe;
REVOKE ALL ON SCHEMA etl_probe FROM PUBLIC;
-- siphon_reader probes for the API (validate, create, PATCH); siphon_writer, a member of
-- siphon_reader, probes at claim time and before each SQL step.
GRANT USAGE, CREATE ON SCHEMA etl_probe TO siphon_reader;
-- A SQL step names its target tables: resolving those names needs USAGE on the target schema (no
-- privilege on any table in it).
GRANT USAGE ON SCHEMA analytics TO siphon_reader;
