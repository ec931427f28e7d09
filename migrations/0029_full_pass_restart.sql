-- A full pass whose source query changed while a run was writing it (issue 17's review): the change
-- applies from the next run, so the running run goes on with its pass and keeps saving its position.
-- Forgetting that position at once (as for a pipeline no run holds) was undone by the run's next
-- batch, and a pass paused or handed off afterwards resumed at the old query's position under the new
-- query. The API records instead the pipeline version that changed the query; a run that claims the
-- pipeline at that version or later starts the pass over before it reads (a run that claimed an
-- older version just before the change leaves the mark to the next one). NULL: no restart pending.
-- Cleared when a pass completes, restarts or its state is reset.
ALTER TABLE etl.etl_state ADD COLUMN full_pass_restart_version integer;
