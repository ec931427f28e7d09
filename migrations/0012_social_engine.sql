-- Social sync on the same engine (ARCHITECTURE.md): a social sync is a pipeline (kind 'social') that
-- the runners claim like any other; its per-account jobs fan out into durable page tasks, a shared
-- per-credential quota limiter paces the calls, and enrichment waits durably for the ML service.

ALTER TABLE etl.etl_pipelines
  ADD COLUMN kind text NOT NULL DEFAULT 'sql' CHECK (kind IN ('sql', 'social')),
  -- kind 'social': { platform, accounts: [...], lookback, comments, backfill … } (pipeline-spec.schema.ts)
  ADD COLUMN social jsonb,
  ALTER COLUMN source_query DROP NOT NULL,
  ALTER COLUMN target_table DROP NOT NULL,
  ALTER COLUMN unique_key DROP NOT NULL,
  ADD CONSTRAINT etl_pipelines_kind_shape CHECK (
    (kind = 'sql' AND source_query IS NOT NULL AND target_table IS NOT NULL AND unique_key IS NOT NULL)
    OR (kind = 'social' AND social IS NOT NULL)
  );
-- An incremental social sync has no incremental_key: it goes by each account's last_synced_at.
ALTER TABLE etl.etl_pipelines DROP CONSTRAINT etl_pipelines_check;
ALTER TABLE etl.etl_pipelines ADD CONSTRAINT etl_pipelines_incremental_key_check
  CHECK (kind = 'social' OR mode = 'full' OR incremental_key IS NOT NULL);

-- Jobs belong to the pipeline run that started them; a backfill is its own kind of job.
ALTER TABLE etl.sync_jobs
  ADD COLUMN pipeline_id uuid REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  ADD COLUMN run_id uuid REFERENCES etl.etl_runs (id) ON DELETE SET NULL,
  ADD COLUMN job_kind text NOT NULL DEFAULT 'sync' CHECK (job_kind IN ('sync', 'backfill')),
  -- Backfill range (published_at), null = everything.
  ADD COLUMN since timestamptz,
  ADD COLUMN until timestamptz;
CREATE INDEX sync_jobs_run_idx ON etl.sync_jobs (run_id);
CREATE INDEX sync_jobs_pipeline_idx ON etl.sync_jobs (pipeline_id, status);

-- Tasks: one per step or page stream. WAITING = rescheduled (Retry-After, quota reset) until not_before.
ALTER TABLE etl.sync_tasks DROP CONSTRAINT sync_tasks_kind_check;
ALTER TABLE etl.sync_tasks ADD CONSTRAINT sync_tasks_kind_check
  CHECK (kind IN ('profile', 'posts', 'comments', 'follows'));
ALTER TABLE etl.sync_tasks DROP CONSTRAINT sync_tasks_status_check;
ALTER TABLE etl.sync_tasks ADD CONSTRAINT sync_tasks_status_check
  CHECK (status IN ('PENDING', 'WAITING', 'DONE', 'FAILED', 'SKIPPED'));
ALTER TABLE etl.sync_tasks
  ADD COLUMN not_before timestamptz,
  -- For 'follows': the relation; for 'comments': the post's owner account; free-form otherwise.
  ADD COLUMN detail text,
  ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
  ADD COLUMN started_at timestamptz,
  ADD COLUMN finished_at timestamptz;
CREATE INDEX sync_tasks_open_idx ON etl.sync_tasks (job_id) WHERE status IN ('PENDING', 'WAITING');

-- One row per (platform, credential): the limiter every runner shares. Calls are spaced by
-- window_ms / calls_per_window (never more than the limit in any window); daily units are counted
-- against daily_units and an exhausted day pauses the credential until paused_until.
CREATE TABLE etl.quota_limits (
  platform         text NOT NULL,
  credential       text NOT NULL,
  calls_per_window integer NOT NULL CHECK (calls_per_window > 0),
  window_ms        integer NOT NULL CHECK (window_ms > 0),
  next_slot_at     timestamptz NOT NULL DEFAULT now(),
  daily_units      bigint CHECK (daily_units IS NULL OR daily_units > 0),
  day              date NOT NULL DEFAULT current_date,
  units_used       bigint NOT NULL DEFAULT 0,
  calls_total      bigint NOT NULL DEFAULT 0,
  rate_limited     bigint NOT NULL DEFAULT 0,
  used_percent     real,
  paused_until     timestamptz,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, credential)
);

-- Unified tables beyond profiles/posts/comments.
ALTER TABLE social.posts ADD COLUMN media_type text, ADD COLUMN url text;

CREATE TABLE social.media (
  platform         text NOT NULL,
  external_id      text NOT NULL,
  post_external_id text NOT NULL,
  position         integer NOT NULL,
  media_type       text,
  media_url        text,
  thumbnail_url    text,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (platform, external_id)
);
CREATE INDEX media_post_idx ON social.media (platform, post_external_id);

CREATE TABLE social.follows (
  platform            text NOT NULL,
  profile_external_id text NOT NULL,
  relation            text NOT NULL CHECK (relation IN ('follower', 'following', 'subscription')),
  other_external_id   text NOT NULL,
  other_handle        text,
  other_title         text,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  PRIMARY KEY (platform, profile_external_id, relation, other_external_id)
);

ALTER TABLE social.raw_responses DROP CONSTRAINT raw_responses_kind_check;
ALTER TABLE social.raw_responses ALTER COLUMN kind SET DATA TYPE text;

-- Enrichment: an item waits for the external ML service without holding a worker.
CREATE TABLE social.enrichment_jobs (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  platform         text NOT NULL,
  item_kind        text NOT NULL CHECK (item_kind IN ('profile', 'post', 'media', 'comment')),
  item_external_id text NOT NULL,
  analysis         text NOT NULL CHECK (analysis IN ('image', 'text')),
  status           text NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING', 'WAITING', 'DONE', 'FAILED', 'EXPIRED')),
  external_job_id  text,
  next_poll_at     timestamptz NOT NULL DEFAULT now(),
  deadline_at      timestamptz NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  run_id           uuid REFERENCES etl.etl_runs (id) ON DELETE SET NULL,
  error_code       text,
  error            text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  finished_at      timestamptz,
  UNIQUE (platform, item_kind, item_external_id, analysis)
);
CREATE INDEX enrichment_jobs_due_idx ON social.enrichment_jobs (next_poll_at) WHERE status IN ('PENDING', 'WAITING');

CREATE TABLE social.enrichment_results (
  platform         text NOT NULL,
  item_kind        text NOT NULL,
  item_external_id text NOT NULL,
  analysis         text NOT NULL,
  result           jsonb NOT NULL,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (platform, item_kind, item_external_id, analysis)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON social.media, social.follows, social.enrichment_jobs,
  social.enrichment_results TO siphon_writer;
GRANT SELECT ON social.media, social.follows, social.enrichment_jobs, social.enrichment_results TO siphon_api;
GRANT USAGE, SELECT ON SEQUENCE social.enrichment_jobs_id_seq TO siphon_writer;
GRANT SELECT, INSERT, UPDATE ON etl.quota_limits TO siphon_writer;
REVOKE INSERT, UPDATE, DELETE ON etl.quota_limits FROM siphon_api;
GRANT SELECT ON etl.quota_limits TO siphon_api;

-- The id of the runner's graphile-worker pool (the `locked_by` of the sync steps it holds): when the
-- runner's heartbeat goes stale, its steps are unlocked at once instead of after graphile-worker's 4 h.
ALTER TABLE etl.etl_runners ADD COLUMN queue_worker_id text;

-- What a complete pass of a task saw (posts of a profile, comments of a post, one relation): at the
-- end of the pass, rows of that scope it did not see are marked deleted (never removed), then it is cleared.
CREATE TABLE etl.sync_seen (
  task_id     bigint NOT NULL REFERENCES etl.sync_tasks (id) ON DELETE CASCADE,
  external_id text NOT NULL,
  PRIMARY KEY (task_id, external_id)
);
GRANT SELECT, INSERT, DELETE ON etl.sync_seen TO siphon_writer;
