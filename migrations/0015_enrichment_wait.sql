-- Enrichment waits durably (src/enrichment): what is sent, how long the next wait is, the trace it
-- belongs to, and a revision that fences a poll job made stale by a re-open or a duplicate job.
ALTER TABLE social.enrichment_jobs
  -- The service's `input`: {"text": …} or {"url": …}. A changed input re-opens a finished item.
  ADD COLUMN input jsonb,
  -- The current wait between polls; doubles while the service is not done, up to a cap.
  ADD COLUMN backoff_ms integer CHECK (backoff_ms IS NULL OR backoff_ms > 0),
  -- W3C traceparent/tracestate of the page that queued the item: a poll resumed days later links to it.
  ADD COLUMN trace_context jsonb,
  -- Bumped by every transition; a poll writes only if the row is still at the revision it read.
  ADD COLUMN revision integer NOT NULL DEFAULT 0,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- created_at is when the current wait began: a re-opened item starts a new wait (the oldest-wait
-- gauges and enrichmentSummary read it).
COMMENT ON COLUMN social.enrichment_jobs.created_at IS 'when the current wait began (reset when re-opened)';

CREATE INDEX enrichment_jobs_run_idx ON social.enrichment_jobs (run_id);
