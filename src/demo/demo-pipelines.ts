import type { PipelineSpecInput } from '../core/pipeline-spec.schema.js';

export type DemoPipeline = PipelineSpecInput & { id: string; tasks?: unknown[] };

/** The two pipelines of seed 004 (same ids and names) and an incremental variant of each. */
export const DEMO_PIPELINES: readonly DemoPipeline[] = [
  {
    id: '11111111-1111-1111-1111-111111111111',
    name: 'film_dim_full',
    description: 'Film dimension: every film with its title and rating (seed 004 §6.1).',
    source_query: 'SELECT fw.id AS film_id, fw.title, fw.rating\nFROM content.film_work fw',
    target_table: 'analytics.film_dim',
    unique_key: ['film_id'],
    mode: 'full',
  },
  {
    id: '22222222-2222-2222-2222-222222222222',
    name: 'film_rating_agg_full',
    description: 'Average user rating and number of votes per film (seed 004 §6.2).',
    source_query:
      'SELECT r.film_id, round(avg(r.rating), 2) AS avg_rating, count(*) AS votes_count,\n' +
      '       max(r.modified) AS last_rating_at\nFROM ugc.ratings r\nGROUP BY r.film_id',
    target_table: 'analytics.film_rating_agg',
    unique_key: ['film_id'],
    mode: 'full',
    // Steps after the load (seed 003 §1.2.2): registered TypeScript functions, in dependency order.
    tasks: [
      { name: 'analyze', task_type: 'CODE', task_name: 'analyze_target' },
      {
        name: 'rating_stats',
        task_type: 'CODE',
        task_name: 'refresh_film_rating_stats',
        depends_on: ['analyze'],
      },
    ],
  },
  {
    id: '33333333-3333-3333-3333-333333333333',
    name: 'film_dim_incremental',
    description: 'film_dim, only films modified since the checkpoint (with a 5 minute lookback).',
    source_query: 'SELECT fw.id AS film_id, fw.title, fw.rating, fw.modified\nFROM content.film_work fw',
    target_table: 'analytics.film_dim',
    unique_key: ['film_id'],
    mode: 'incremental',
    incremental_key: 'modified',
    lookback: '5m',
  },
  {
    id: '44444444-4444-4444-4444-444444444444',
    name: 'film_rating_agg_incremental',
    description: 'film_rating_agg, only films whose newest vote is after the checkpoint.',
    source_query:
      'SELECT r.film_id, round(avg(r.rating), 2) AS avg_rating, count(*) AS votes_count,\n' +
      '       max(r.modified) AS last_rating_at\nFROM ugc.ratings r\nGROUP BY r.film_id',
    target_table: 'analytics.film_rating_agg',
    unique_key: ['film_id'],
    mode: 'incremental',
    incremental_key: 'last_rating_at',
    lookback: '5m',
  },
];
