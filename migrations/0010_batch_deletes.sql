-- Full runs delete rows the source no longer has batch by batch (within each batch's key range).
ALTER TABLE etl.etl_run_batches ADD COLUMN rows_deleted integer NOT NULL DEFAULT 0;
