-- The analytics marts (seed 003 §1.1.2, seed 004 §6).
CREATE SCHEMA IF NOT EXISTS analytics;

CREATE TABLE analytics.film_dim (
  film_id    uuid PRIMARY KEY,
  title      text NOT NULL,
  rating     double precision,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE analytics.film_rating_agg (
  film_id     uuid PRIMARY KEY,
  avg_rating  numeric(4, 2) NOT NULL,
  votes_count bigint NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
