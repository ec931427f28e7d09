-- A page's counters stay on its own task row. Before, every page transaction also updated its job's
-- `calls` and its run's rows_read / rows_written / batches: rows shared by all the concurrent pages of an
-- account (the job) or of the whole run, locked until each page's commit, so the page commits of every
-- runner queued behind one another (docs/benchmarks.md, social sync). Now a job's calls are the sum of
-- its tasks' calls, and the coordinator adds a job's pages, items and rows written to its run when it
-- closes the job (src/sync/engine.repository.ts closeFinishedJobs, failJob).
ALTER TABLE etl.sync_tasks
  ADD COLUMN calls integer NOT NULL DEFAULT 0,
  ADD COLUMN written integer NOT NULL DEFAULT 0;

-- Calls counted on jobs so far move to each job's first task, so no count is lost.
UPDATE etl.sync_tasks t SET calls = j.calls
  FROM etl.sync_jobs j
 WHERE t.job_id = j.id AND j.calls > 0
   AND t.id = (SELECT min(f.id) FROM etl.sync_tasks f WHERE f.job_id = j.id);

ALTER TABLE etl.sync_jobs DROP COLUMN calls;
