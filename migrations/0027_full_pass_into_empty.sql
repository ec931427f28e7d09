-- A full pass over a source on another server that began on an empty target (issue 17, fast path):
-- its batches are copied straight into the target (`COPY … FROM STDIN`, no staging and no merge), it
-- stages no keys, and its end deletes nothing — every row in the target was written by the pass. Set
-- in the pass's first batch transaction, so a pass resumed after a pause or a kill -9 goes on the same
-- way; cleared with the rest of the full pass's state when it completes or restarts.
ALTER TABLE etl.etl_state ADD COLUMN full_pass_into_empty boolean NOT NULL DEFAULT false;

-- Lanes of such a pass, read in parallel (SIPHON_REMOTE_LANES): the source's keys cut into ranges at
-- the pass's start, each lane (after_key, until_key] read from one exported snapshot of the source and
-- committed batch by batch with its own position here, in the batch's transaction. A lane is done when
-- a batch came back short; the pass is done when every lane is. Deleted when the pass completes or
-- restarts.
CREATE TABLE etl.full_pass_lanes (
  pipeline_id uuid NOT NULL REFERENCES etl.etl_pipelines (id) ON DELETE CASCADE,
  lane        integer NOT NULL CHECK (lane >= 0),
  -- The lane starts strictly after this key (NULL: at the source's first row).
  after_key   text[],
  -- The lane ends at this key, inclusive (NULL: at the source's last row).
  until_key   text[],
  -- The last key the lane has committed (NULL: none yet).
  position    text[],
  done        boolean NOT NULL DEFAULT false,
  PRIMARY KEY (pipeline_id, lane)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON etl.full_pass_lanes TO siphon_writer, siphon_api;
