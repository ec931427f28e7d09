-- Incidents: a failure that needs a person (a pipeline FAILED, a credential rejected, a day's quota
-- spent, repeated lease takeovers). Repeats of the same problem fold into the one open incident of
-- its fingerprint (count, last_seen_at); people acknowledge and resolve them through the API; a
-- pipeline that succeeds again resolves its open pipeline_failed incidents itself.
CREATE TABLE etl.incidents (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind            text NOT NULL
                  CHECK (kind IN ('pipeline_failed', 'credential_rejected', 'quota_exhausted', 'lease_takeovers')),
  -- What makes two reports the same problem: kind, pipeline, error code (and a subject, e.g. a credential).
  fingerprint     text NOT NULL CHECK (char_length(fingerprint) BETWEEN 1 AND 500),
  status          text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'ACKNOWLEDGED', 'RESOLVED')),
  pipeline_id     uuid REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  run_id          uuid REFERENCES etl.etl_runs (id) ON DELETE SET NULL,
  error_code      text,
  -- Cut to 2,000 characters like etl_runs.error (MAX_STORED_ERROR_LENGTH).
  message         text NOT NULL CHECK (char_length(message) <= 2000),
  trace_id        text,
  details         jsonb NOT NULL DEFAULT '{}',
  count           integer NOT NULL DEFAULT 1 CHECK (count >= 1),
  first_seen_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at    timestamptz NOT NULL DEFAULT now(),
  acknowledged_at timestamptz,
  acknowledged_by text,
  resolved_at     timestamptz,
  resolved_by     text,
  CHECK ((status = 'RESOLVED') = (resolved_at IS NOT NULL)),
  CHECK (status = 'OPEN' OR status = 'RESOLVED' OR acknowledged_at IS NOT NULL)
);

-- At most one unresolved incident per fingerprint: a repeat folds into it (INSERT … ON CONFLICT).
CREATE UNIQUE INDEX incidents_one_unresolved_idx ON etl.incidents (fingerprint)
  WHERE status IN ('OPEN', 'ACKNOWLEDGED');
CREATE INDEX incidents_recent_idx ON etl.incidents (last_seen_at DESC, id);
CREATE INDEX incidents_pipeline_idx ON etl.incidents (pipeline_id, status);

-- The etl schema's default privileges (0004) give both roles every write; narrow them.
-- Runners open, fold and auto-resolve; they never delete.
REVOKE ALL ON etl.incidents FROM siphon_writer, siphon_api;
GRANT SELECT, INSERT, UPDATE ON etl.incidents TO siphon_writer;
-- The API reads, and may change only what acknowledging and resolving change.
GRANT SELECT ON etl.incidents TO siphon_api;
GRANT UPDATE (status, acknowledged_at, acknowledged_by, resolved_at, resolved_by) ON etl.incidents TO siphon_api;
