-- The online cinema's source schemas used by the demo (seed 003 §1.1, seed 004 §5).
CREATE SCHEMA IF NOT EXISTS content;
CREATE SCHEMA IF NOT EXISTS ugc;

CREATE TABLE content.film_work (
  id            uuid PRIMARY KEY,
  title         text NOT NULL,
  description   text,
  creation_date date,
  rating        double precision,
  type          text NOT NULL DEFAULT 'movie',
  created       timestamptz NOT NULL DEFAULT now(),
  modified      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX film_work_modified_idx ON content.film_work (modified, id);

CREATE TABLE ugc.ratings (
  id         uuid PRIMARY KEY,
  film_id    uuid NOT NULL,
  user_id    uuid NOT NULL,
  rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 10),
  created_at timestamptz NOT NULL DEFAULT now(),
  modified   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ratings_film_idx ON ugc.ratings (film_id);
CREATE INDEX ratings_modified_idx ON ugc.ratings (modified, id);
