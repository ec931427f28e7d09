-- Freshness: how stale a pipeline's target may get (a duration such as `2h`), declared in its spec.
-- /metrics reports the age of the last successful run against it and alerts fire when it is exceeded.
ALTER TABLE etl.etl_pipelines ADD COLUMN freshness text;
