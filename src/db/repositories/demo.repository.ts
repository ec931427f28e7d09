import type { Executor } from '../pool.js';

/**
 * Deterministic demo data generated inside PostgreSQL: the same sizes always give the same rows
 * (ids are md5-derived uuids, values are hashes of the row number), so runs are comparable.
 * Rows are generated in ranges [from, to) so a caller can show progress.
 */
export async function insertFilms(db: Executor, from: number, to: number): Promise<void> {
  await db.query(
    `INSERT INTO content.film_work (id, title, description, creation_date, rating, type, created, modified)
     SELECT md5('film:' || i)::uuid,
            (ARRAY['Star Wars', 'Star Trek', 'The Matrix', 'Blade Runner', 'Alien', 'Dune', 'Solaris', 'Stalker',
                   'Interstellar', 'Arrival', 'Gravity', 'Moon', 'Contact', 'Sunshine', 'Tenet', 'Inception'])[1 + i % 16]
              || ': ' || (ARRAY['Episode', 'Chapter', 'Part', 'Season', 'Edition', 'Legacy', 'Origins', 'Returns'])[1 + (i / 16) % 8]
              || ' ' || (1 + i / 128)::text,
            'Film number ' || i || ' of the demo catalogue',
            date '1960-01-01' + (abs(hashint4(i)) % 23000),
            round((1 + (abs(hashint4(i * 7)) % 90) / 10.0)::numeric, 1)::double precision,
            CASE WHEN i % 5 = 0 THEN 'tv_show' ELSE 'movie' END,
            timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => i * 37),
            -- Many films share one modified value: batches must cross ties without loss.
            timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => (i / 10) * 370)
       FROM generate_series($1::int, $2::int - 1) AS i
     ON CONFLICT (id) DO NOTHING`,
    [from, to],
  );
}

export async function insertRatings(db: Executor, from: number, to: number, films: number): Promise<void> {
  await db.query(
    `INSERT INTO ugc.ratings (id, film_id, user_id, rating, created_at, modified)
     SELECT md5('rating:' || i)::uuid,
            -- Popular films get more votes: the power skews towards low film numbers.
            md5('film:' || floor((abs(hashint4(i)) / 2147483648.0) ^ 1.5 * $3::int)::int)::uuid,
            md5('user:' || abs(hashint4(i * 31)) % 20000)::uuid,
            1 + abs(hashint4(i * 13)) % 10,
            timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => i * 11),
            timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => i * 11)
       FROM generate_series($1::int, $2::int - 1) AS i
     ON CONFLICT (id) DO NOTHING`,
    [from, to, films],
  );
}

export async function countDemoRows(db: Executor): Promise<{ films: number; ratings: number }> {
  const { rows } = await db.query<{ films: number; ratings: number }>(
    `SELECT (SELECT count(*) FROM content.film_work)::int AS films, (SELECT count(*) FROM ugc.ratings)::int AS ratings`,
  );
  return rows[0]!;
}

/** Empties sources, marts and the demo pipelines' history (demo reset). */
export async function truncateDemo(db: Executor, pipelineIds: readonly string[]): Promise<void> {
  await db.query('TRUNCATE content.film_work, ugc.ratings, analytics.film_dim, analytics.film_rating_agg');
  await db.query('DELETE FROM etl.etl_runs WHERE pipeline_id = ANY($1::uuid[])', [pipelineIds]);
  await db.query('DELETE FROM etl.etl_state WHERE pipeline_id = ANY($1::uuid[])', [pipelineIds]);
}

export async function analyzeDemo(db: Executor): Promise<void> {
  await db.query('ANALYZE content.film_work, ugc.ratings');
}
