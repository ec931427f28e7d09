-- Tiers: how often the tracked accounts of a tier are synced. Each tracked account stores when its
-- next sync is due (next_due_at), at a fixed phase inside its tier's interval derived from the account
-- (social.next_slot), so a tier's accounts are spread evenly over the interval instead of all falling
-- due at the top of the hour. A pipeline selecting `due: true` takes only the accounts due when its run
-- opens; a successful regular sync moves an account to its next slot. "What is overdue" is one query
-- on (platform, tier, next_due_at).
CREATE TABLE social.tiers (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,31}$'),
  sync_interval interval NOT NULL
                CHECK (sync_interval >= interval '1 minute' AND sync_interval <= interval '90 days'),
  description   text CHECK (char_length(description) <= 500),
  changed_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO social.tiers (name, sync_interval, description) VALUES
  ('hourly', interval '1 hour', 'accounts that change by the hour'),
  ('standard', interval '1 day', 'the default tier of an imported account'),
  ('daily', interval '1 day', 'once a day'),
  ('weekly', interval '7 days', 'the long tail');

-- Accounts of an unknown tier cannot exist; a tier is renamed with its accounts.
ALTER TABLE social.accounts
  ADD CONSTRAINT accounts_tier_fkey FOREIGN KEY (tier) REFERENCES social.tiers (name) ON UPDATE CASCADE,
  ADD COLUMN next_due_at timestamptz;
CREATE INDEX accounts_due_idx ON social.accounts (platform, tier, next_due_at) WHERE tracked AND NOT paused;

-- The slot of `key` in every `every`: the first time after `after` whose offset from the epoch, modulo
-- the interval, is the key's phase (a hash of the key). Immutable: the same account always lands on the
-- same minute of its hour, the same hour of its day.
CREATE FUNCTION social.next_slot(key text, every interval, after timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT to_timestamp(phase + (floor((extract(epoch FROM after) - phase) / period) + 1) * period)
    FROM (SELECT greatest(60, floor(extract(epoch FROM every)))::double precision AS period) p,
         LATERAL (SELECT ((hashtextextended(key, 0) % period::bigint + period::bigint) % period::bigint)::double precision
                    AS phase) h
$$;

GRANT SELECT ON social.tiers TO siphon_writer, siphon_api;
GRANT INSERT, UPDATE ON social.tiers TO siphon_api;
GRANT UPDATE (next_due_at) ON social.accounts TO siphon_api;
