-- A social run that succeeds while a much larger share of its accounts than before is unreachable
-- (private, renamed, deleted, personal) opens an `accounts_unreachable` incident: one account going
-- private is normal at scale, a jump usually means a wrong handle list or a platform-side change.
ALTER TABLE etl.incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE etl.incidents ADD CONSTRAINT incidents_kind_check
  CHECK (kind IN ('pipeline_failed', 'credential_rejected', 'quota_exhausted', 'lease_takeovers',
                  'accounts_unreachable'));
