-- Reconcile results (seed 003 §1.7): source vs target counts, key ranges, bucket digests, differing keys.
CREATE TABLE etl.etl_reconciliations (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id       uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  config_version    integer NOT NULL,
  status            text NOT NULL CHECK (status IN ('CLEAN', 'DIFFERENT', 'REPAIRED')),
  started_at        timestamptz NOT NULL DEFAULT now(),
  finished_at       timestamptz NOT NULL DEFAULT now(),
  source_rows       bigint NOT NULL,
  target_rows       bigint NOT NULL,
  summary           jsonb NOT NULL,
  buckets           integer NOT NULL,
  differing_buckets integer NOT NULL,
  missing_keys      jsonb NOT NULL DEFAULT '[]',
  extra_keys        jsonb NOT NULL DEFAULT '[]',
  changed_keys      jsonb NOT NULL DEFAULT '[]',
  repaired_rows     integer NOT NULL DEFAULT 0,
  requested_by      text NOT NULL
);
CREATE INDEX etl_reconciliations_pipeline_idx ON etl.etl_reconciliations (pipeline_id, started_at DESC);
GRANT SELECT, INSERT ON etl.etl_reconciliations TO siphon_writer, siphon_api;
