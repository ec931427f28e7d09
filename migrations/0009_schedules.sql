-- Cron schedules: a runner turns a due IDLE pipeline into RUN_REQUESTED (trigger 'schedule').
ALTER TABLE etl.etl_pipelines ADD COLUMN schedule text, ADD COLUMN next_run_at timestamptz;
CREATE INDEX etl_pipelines_due_idx ON etl.etl_pipelines (next_run_at) WHERE schedule IS NOT NULL AND enabled;
