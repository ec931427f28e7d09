-- Sources in other databases (issue 17): a named connection to a PostgreSQL or MySQL/MariaDB server.
-- The credential is stored by reference only: the name of an environment variable (SIPHON_SECRET_*)
-- or of an entry of the secrets file (SIPHON_CREDENTIALS_FILE, "connections"). No password is ever
-- stored here, so no API response, log line or backup of this database can carry one.
CREATE TABLE etl.source_connections (
  name            text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  kind            text NOT NULL CHECK (kind IN ('postgres', 'mysql')),
  host            text NOT NULL CHECK (char_length(host) BETWEEN 1 AND 255),
  port            integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  database        text NOT NULL CHECK (char_length(database) BETWEEN 1 AND 128),
  "user"          text NOT NULL CHECK (char_length("user") BETWEEN 1 AND 128),
  password_env    text CHECK (password_env ~ '^SIPHON_SECRET_[A-Z0-9_]{1,100}$'),
  password_secret text CHECK (password_secret ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  -- Schemas (MySQL: databases) a source query may read; NULL: the kind's default (docs/remote-sources).
  allowed_schemas text[],
  created_at      timestamptz NOT NULL DEFAULT now(),
  created_by      text NOT NULL DEFAULT 'system',
  CHECK (num_nonnulls(password_env, password_secret) <= 1)
);

-- A pipeline may read its source through a connection; NULL reads Siphon's own database (pushdown).
-- RESTRICT: a connection in use cannot be deleted (the API says which pipelines use it first).
ALTER TABLE etl.etl_pipelines
  ADD COLUMN source_connection text REFERENCES etl.source_connections (name) ON DELETE RESTRICT;
CREATE INDEX etl_pipelines_source_connection_idx ON etl.etl_pipelines (source_connection)
  WHERE source_connection IS NOT NULL;

-- The keys a full pass over a remote source has read so far, staged locally in each batch's own
-- transaction. After the last batch, target rows whose key is not here are deleted (delete-not-seen
-- without reading the whole remote source again, and without ever emptying the target); the rows
-- are cleared when the pass completes, or when a new pass starts.
-- No key on (pipeline_id, key): checking one cost four times the target write (text[] comparisons),
-- and a key staged twice changes nothing for the anti-join.
CREATE TABLE etl.remote_seen_keys (
  pipeline_id uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  key         text[] NOT NULL
);
CREATE INDEX remote_seen_keys_pipeline_idx ON etl.remote_seen_keys (pipeline_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON etl.source_connections, etl.remote_seen_keys TO siphon_writer, siphon_api;
