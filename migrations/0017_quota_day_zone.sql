-- A credential's "day" is the platform's: YouTube's daily quota resets at midnight Pacific time, not
-- at the database server's midnight. The zone is set by the runner that writes the limit
-- (src/sync/sync-step.ts quotaDayZone); rows written before this migration get it here.
ALTER TABLE etl.quota_limits ADD COLUMN day_zone text NOT NULL DEFAULT 'UTC';
UPDATE etl.quota_limits SET day_zone = 'America/Los_Angeles' WHERE platform = 'youtube';
UPDATE etl.quota_limits SET day = (now() AT TIME ZONE day_zone)::date WHERE day = current_date;
