-- Filled by the demo's CODE step refresh_film_rating_stats after film_rating_agg_full loads.
CREATE TABLE analytics.film_rating_stats (
  rating_bucket integer PRIMARY KEY,
  films         bigint NOT NULL,
  votes         bigint NOT NULL,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON analytics.film_rating_stats TO siphon_writer;
GRANT SELECT ON analytics.film_rating_stats TO siphon_api;
