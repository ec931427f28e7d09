-- Credential pools: a platform may have several credentials (SIPHON_CREDENTIALS_FILE), each with its
-- own row here (limits, day, usage). A credential the platform refuses (revoked key, wrong secret)
-- leaves the pool until rejected_until while the others carry on; it is tried again after that.
ALTER TABLE etl.quota_limits
  ADD COLUMN rejected_until timestamptz,
  ADD COLUMN rejected_reason text CHECK (char_length(rejected_reason) <= 2000);
