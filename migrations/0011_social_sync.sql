-- Social sync (ARCHITECTURE.md "Social sync on the same engine"): tracked accounts, the raw zone,
-- unified tables keyed by (platform, external_id), quarantine, and durable per-account sync jobs/tasks.
CREATE SCHEMA social;
REVOKE ALL ON SCHEMA social FROM PUBLIC;

CREATE TABLE social.accounts (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  platform       text NOT NULL,
  external_id    text NOT NULL,
  handle         text,
  last_synced_at timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (platform, external_id)
);

-- Every API response, written before it is transformed (transforms can be re-run from here).
CREATE TABLE social.raw_responses (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  platform     text NOT NULL,
  kind         text NOT NULL CHECK (kind IN ('profile', 'posts_page', 'videos', 'comments_page', 'replies_page')),
  external_id  text NOT NULL,
  -- Path and parameters, never the API key.
  request      jsonb NOT NULL,
  payload      jsonb NOT NULL,
  payload_hash text NOT NULL,
  fetched_at   timestamptz NOT NULL DEFAULT now(),
  sync_task_id bigint
);
CREATE INDEX raw_responses_lookup_idx ON social.raw_responses (platform, kind, external_id, fetched_at DESC);

CREATE TABLE social.profiles (
  platform         text NOT NULL,
  external_id      text NOT NULL,
  handle           text,
  title            text,
  description      text,
  country          text,
  published_at     timestamptz,
  subscriber_count bigint,
  view_count       bigint,
  post_count       bigint,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  deleted_at       timestamptz,
  PRIMARY KEY (platform, external_id)
);

CREATE TABLE social.posts (
  platform            text NOT NULL,
  external_id         text NOT NULL,
  profile_external_id text NOT NULL,
  title               text,
  description         text,
  published_at        timestamptz,
  duration_seconds    integer,
  view_count          bigint,
  like_count          bigint,
  comment_count       bigint,
  thumbnail_url       text,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  deleted_at          timestamptz,
  PRIMARY KEY (platform, external_id)
);
CREATE INDEX posts_profile_idx ON social.posts (platform, profile_external_id, published_at DESC);

CREATE TABLE social.comments (
  platform           text NOT NULL,
  external_id        text NOT NULL,
  post_external_id   text NOT NULL,
  parent_external_id text,
  author             text,
  text               text,
  like_count         bigint,
  published_at       timestamptz,
  edited_at          timestamptz,
  updated_at         timestamptz NOT NULL DEFAULT now(),
  deleted_at         timestamptz,
  PRIMARY KEY (platform, external_id)
);
CREATE INDEX comments_post_idx ON social.comments (platform, post_external_id);

CREATE TABLE social.quarantine (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  platform    text NOT NULL,
  kind        text NOT NULL,
  external_id text,
  reason      text NOT NULL,
  payload     jsonb,
  at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE etl.sync_jobs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  account_id  uuid NOT NULL REFERENCES social.accounts (id),
  platform    text NOT NULL,
  status      text NOT NULL CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED')),
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  calls       integer NOT NULL DEFAULT 0,
  error_code  text,
  error       text
);
CREATE INDEX sync_jobs_account_idx ON etl.sync_jobs (account_id, started_at DESC);

CREATE TABLE etl.sync_tasks (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id      uuid NOT NULL REFERENCES etl.sync_jobs (id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('profile', 'posts', 'comments')),
  external_id text NOT NULL,
  -- The next page token; null before the first page.
  cursor      text,
  status      text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED', 'SKIPPED')),
  attempts    integer NOT NULL DEFAULT 0,
  pages       integer NOT NULL DEFAULT 0,
  items       integer NOT NULL DEFAULT 0,
  error_code  text,
  error       text,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (job_id, kind, external_id)
);

GRANT USAGE ON SCHEMA social TO siphon_writer, siphon_api;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA social TO siphon_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA social TO siphon_api;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA social TO siphon_writer;

-- The etl schema's default privileges (0004) also give siphon_api writes; sync state is the runner's.
GRANT SELECT, INSERT, UPDATE, DELETE ON etl.sync_jobs, etl.sync_tasks TO siphon_writer;
REVOKE INSERT, UPDATE, DELETE ON etl.sync_jobs, etl.sync_tasks FROM siphon_api;
GRANT SELECT ON etl.sync_jobs, etl.sync_tasks TO siphon_api;
GRANT USAGE, SELECT ON SEQUENCE etl.sync_tasks_id_seq TO siphon_writer;

-- One running job per account: a second sync of the same account cannot start beside a running one.
CREATE UNIQUE INDEX sync_jobs_one_running_idx ON etl.sync_jobs (account_id) WHERE status = 'RUNNING';
