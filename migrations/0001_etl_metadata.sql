-- Pipeline configuration, state, run history and runner registry (seed 003 §1.2, §1.4, §1.6).
CREATE SCHEMA IF NOT EXISTS etl;

CREATE TABLE etl.etl_pipelines (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name             text NOT NULL UNIQUE CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  description      text NOT NULL DEFAULT '',
  source_query     text NOT NULL,
  target_table     text NOT NULL,
  unique_key       text[] NOT NULL CHECK (cardinality(unique_key) BETWEEN 1 AND 8),
  mode             text NOT NULL CHECK (mode IN ('full', 'incremental')),
  batch_size       integer NOT NULL DEFAULT 5000 CHECK (batch_size BETWEEN 1 AND 1000000),
  incremental_key  text,
  lookback         text,
  enabled          boolean NOT NULL DEFAULT true,
  status           text NOT NULL DEFAULT 'IDLE'
                   CHECK (status IN ('IDLE', 'RUN_REQUESTED', 'RUNNING', 'PAUSE_REQUESTED', 'PAUSED', 'FAILED')),
  version          integer NOT NULL DEFAULT 1,
  -- Lease and fencing: the owner renews lease_expires_at; every takeover increments lease_epoch.
  lease_owner      text,
  lease_epoch      bigint NOT NULL DEFAULT 0,
  lease_expires_at timestamptz,
  current_run_id   uuid,
  run_trigger      text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  updated_by       text NOT NULL DEFAULT 'system',
  CHECK (mode = 'full' OR incremental_key IS NOT NULL)
);
CREATE INDEX etl_pipelines_claim_idx ON etl.etl_pipelines (status) WHERE enabled;

-- Every saved configuration, so a run can be pinned to the version it started with.
CREATE TABLE etl.etl_pipeline_versions (
  pipeline_id uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  version     integer NOT NULL,
  config      jsonb NOT NULL,
  changed_by  text NOT NULL,
  changed_at  timestamptz NOT NULL DEFAULT now(),
  change      jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (pipeline_id, version)
);

-- Ordered steps run after the pipeline's load (seed 003 §1.2.2: SQL and PYTHON; here CODE = registered TypeScript).
CREATE TABLE etl.etl_pipeline_tasks (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
  position    integer NOT NULL,
  task_type   text NOT NULL CHECK (task_type IN ('SQL', 'CODE')),
  sql         text,
  task_name   text,
  params      jsonb NOT NULL DEFAULT '{}',
  depends_on  text[] NOT NULL DEFAULT '{}',
  enabled     boolean NOT NULL DEFAULT true,
  UNIQUE (pipeline_id, name),
  CHECK ((task_type = 'SQL' AND sql IS NOT NULL) OR (task_type = 'CODE' AND task_name IS NOT NULL))
);

-- The checkpoint (seed 003 §1.4.3: last_processed_*), committed in the same transaction as its batch.
CREATE TABLE etl.etl_state (
  pipeline_id          uuid PRIMARY KEY REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  last_processed_value text,
  last_processed_key   jsonb,
  -- Position inside a full run that has not finished yet (resume after pause or crash).
  full_cursor          jsonb,
  full_run_started_at  timestamptz,
  completed_tasks      text[] NOT NULL DEFAULT '{}',
  last_run_id          uuid,
  updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE etl.etl_runs (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  pipeline_id    uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  config_version integer NOT NULL,
  trigger        text NOT NULL,
  mode           text NOT NULL,
  status         text NOT NULL CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'PAUSED', 'INTERRUPTED')),
  runner_id      text NOT NULL,
  lease_epoch    bigint NOT NULL,
  started_at     timestamptz NOT NULL DEFAULT now(),
  finished_at    timestamptz,
  rows_read      bigint NOT NULL DEFAULT 0,
  rows_written   bigint NOT NULL DEFAULT 0,
  rows_deleted   bigint NOT NULL DEFAULT 0,
  batches        integer NOT NULL DEFAULT 0,
  error_code     text,
  error          text,
  error_details  jsonb
);
CREATE INDEX etl_runs_pipeline_idx ON etl.etl_runs (pipeline_id, started_at DESC);

-- Per-batch ledger: what each committed batch covered.
CREATE TABLE etl.etl_run_batches (
  run_id       uuid NOT NULL REFERENCES etl.etl_runs (id) ON DELETE CASCADE,
  batch_no     integer NOT NULL,
  cursor_from  jsonb,
  cursor_to    jsonb,
  rows_read    integer NOT NULL,
  rows_written integer NOT NULL,
  duration_ms  integer NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, batch_no)
);

CREATE TABLE etl.etl_runners (
  id           text PRIMARY KEY,
  hostname     text NOT NULL,
  pid          integer NOT NULL,
  version      text NOT NULL,
  started_at   timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  stopped_at   timestamptz
);
