import type { PipelineRow } from '../db/repositories/pipeline.repository.js';

/** The public shape of a pipeline: configuration and status, without lease internals. */
export function presentPipeline(row: PipelineRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    kind: row.kind,
    ...(row.kind === 'social' ? { social: row.social } : {}),
    source_query: row.source_query,
    ...(row.kind === 'social' ? {} : { source_connection: row.source_connection }),
    target_table: row.target_table,
    unique_key: row.unique_key,
    mode: row.mode,
    batch_size: row.batch_size,
    incremental_key: row.incremental_key,
    lookback: row.lookback,
    enabled: row.enabled,
    schedule: row.schedule,
    next_run_at: row.next_run_at,
    freshness: row.freshness,
    status: row.status,
    version: row.version,
    current_run_id: row.current_run_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
    updated_by: row.updated_by,
  };
}
