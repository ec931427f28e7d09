-- Accounts the platform no longer shows (not found, private, personal, suspended, renamed) are
-- skipped, not failures: the account carries why and since when, its job ends SKIPPED, the run goes
-- on. Later runs check it again less often (next_check_at), and a successful profile read clears it.
ALTER TABLE social.accounts
  ADD COLUMN status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'unreachable')),
  ADD COLUMN unreachable_code text,
  ADD COLUMN unreachable_reason text,
  ADD COLUMN unreachable_since timestamptz,
  ADD COLUMN last_checked_at timestamptz,
  ADD COLUMN unreachable_checks integer NOT NULL DEFAULT 0,
  ADD COLUMN next_check_at timestamptz;
CREATE INDEX accounts_unreachable_idx ON social.accounts (platform, next_check_at) WHERE status = 'unreachable';

ALTER TABLE etl.sync_jobs DROP CONSTRAINT sync_jobs_status_check;
ALTER TABLE etl.sync_jobs ADD CONSTRAINT sync_jobs_status_check
  CHECK (status IN ('RUNNING', 'SUCCESS', 'FAILED', 'SKIPPED'));
