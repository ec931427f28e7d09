import { refreshRatingStats } from '../../db/repositories/task.repository.js';
import type { CodeTask } from '../task-type.js';

/**
 * Demo step: keeps analytics.film_rating_stats — the distribution of average ratings in buckets of
 * one point — in step with analytics.film_rating_agg.
 */
export const refreshFilmRatingStats: CodeTask = {
  description: 'recompute analytics.film_rating_stats (films per average-rating bucket) from film_rating_agg',
  async run({ db }) {
    return { rowsAffected: await refreshRatingStats(db) };
  },
};
