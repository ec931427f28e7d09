-- Who did what to a pipeline outside its configuration versions (state resets, deletions).
-- No foreign key: the trail outlives a deleted pipeline.
CREATE TABLE etl.etl_audit (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  pipeline_id uuid NOT NULL,
  action      text NOT NULL,
  actor       text NOT NULL,
  at          timestamptz NOT NULL DEFAULT now(),
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX etl_audit_pipeline_idx ON etl.etl_audit (pipeline_id, at DESC);
GRANT SELECT, INSERT ON etl.etl_audit TO siphon_api, siphon_writer;
