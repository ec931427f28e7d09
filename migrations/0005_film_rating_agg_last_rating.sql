-- The moment of the newest vote behind each aggregate: the incremental variant of the demo's
-- film_rating_agg pipeline reads by it, and a reader sees how fresh each row is.
ALTER TABLE analytics.film_rating_agg ADD COLUMN last_rating_at timestamptz;
