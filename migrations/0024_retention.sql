-- Retention (src/sync/retention.ts): finished sync jobs older than SIPHON_SYNC_HISTORY_RETENTION are
-- deleted oldest first, in bounded batches; this index finds them without reading the running ones.
CREATE INDEX sync_jobs_finished_idx ON etl.sync_jobs (finished_at) WHERE status <> 'RUNNING';
