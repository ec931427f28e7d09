-- Indexes held back while a full pass from another server fills an empty target (issue 17, ADR 0020):
-- the pass's first batch transaction records how to build each index and drops it, its batches COPY
-- the rows into a table without indexes, and the transaction that ends the pass builds them again
-- (one sort per index instead of one index insert per row). Keyed by the target, not the pipeline, so
-- a reset or a deleted pipeline does not lose them: the next run of any pipeline into that target that
-- is not the same pass builds them before it reads.
CREATE TABLE etl.held_indexes (
  target_schema text NOT NULL,
  target_table  text NOT NULL,
  -- The pipeline whose pass held them (for the operator; the row outlives it).
  pipeline_id   uuid,
  -- One element per index: {"name", "create" (the statement that builds it again, from the catalog),
  -- "unique" (its sorted columns when it is a unique index without predicate or expression, else null)}.
  indexes       jsonb NOT NULL,
  held_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (target_schema, target_table)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON etl.held_indexes TO siphon_writer, siphon_api;
