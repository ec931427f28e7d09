-- Tracked accounts as data (issue: 100,000+ accounts). An account a person tracks is a row of
-- social.accounts with `tracked`, its tags and tier, paused or not, and who added it when; a social
-- pipeline selects accounts by platform + tags/tier (`social.select`) instead of carrying a list.
-- Untracking keeps the row (its data, its unreachable status and its jobs' history stay).
ALTER TABLE social.accounts
  ADD COLUMN tracked    boolean NOT NULL DEFAULT false,
  ADD COLUMN tags       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 32),
  ADD COLUMN tier       text NOT NULL DEFAULT 'standard' CHECK (tier ~ '^[a-z][a-z0-9_]{0,31}$'),
  ADD COLUMN paused     boolean NOT NULL DEFAULT false,
  ADD COLUMN added_by   text,
  ADD COLUMN added_at   timestamptz,
  ADD COLUMN changed_at timestamptz;
CREATE INDEX accounts_tracked_idx ON social.accounts (platform, tier, external_id) WHERE tracked;
CREATE INDEX accounts_tags_idx ON social.accounts USING gin (tags) WHERE tracked;

-- The API (and the CLI, which uses the API's role) manages the list; it may add accounts and change
-- only these columns, never the sync state the runners own.
GRANT INSERT ON social.accounts TO siphon_api;
GRANT UPDATE (tracked, tags, tier, paused, added_by, added_at, changed_at) ON social.accounts TO siphon_api;
