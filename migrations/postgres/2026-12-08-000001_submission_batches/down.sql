-- Fails (NOT NULL) once a push stored its raw items only in submission_batches: reverting
-- would lose them. Roll forward instead.
ALTER TABLE submissions ALTER COLUMN raw_json SET NOT NULL;
ALTER TABLE submissions DROP COLUMN batch_ref;
DROP TABLE submission_batches;
