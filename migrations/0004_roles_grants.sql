-- Least privilege (seed 003 §2.3). The roles themselves are created by `siphon migrate`
-- before this file runs (they are cluster-wide and carry passwords, which do not belong in SQL files).
--   siphon_reader: reads content and ugc, nothing else.
--   siphon_writer: the runner; writes analytics and etl, reads sources through siphon_reader.
--   siphon_api:    the API; reads and writes etl metadata, reads analytics.
REVOKE ALL ON SCHEMA content, ugc, analytics, etl FROM PUBLIC;

GRANT USAGE ON SCHEMA content, ugc TO siphon_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA content, ugc TO siphon_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA content, ugc GRANT SELECT ON TABLES TO siphon_reader;

GRANT siphon_reader TO siphon_writer;
GRANT USAGE, CREATE ON SCHEMA analytics TO siphon_writer;
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA analytics TO siphon_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO siphon_writer;
GRANT USAGE ON SCHEMA etl TO siphon_writer, siphon_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA etl TO siphon_writer, siphon_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA etl GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO siphon_writer, siphon_api;

GRANT USAGE ON SCHEMA analytics TO siphon_api;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO siphon_api;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO siphon_api;
-- Marts created by the runner (a new mart by configuration) are owned by siphon_writer.
ALTER DEFAULT PRIVILEGES FOR ROLE siphon_writer IN SCHEMA analytics GRANT SELECT ON TABLES TO siphon_api;

-- /health and the runner check that the schema is current.
GRANT SELECT ON public.siphon_schema_migrations TO siphon_writer, siphon_api;
