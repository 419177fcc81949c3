-- The current version's canonical JSON lives in `records.canonical_json` only: the current
-- version's `record_versions` row holds NULL, and a version's row gets its JSON (copied from
-- the record) when a correction supersedes it. Rows stored before keep theirs.
ALTER TABLE record_versions ALTER COLUMN canonical_json DROP NOT NULL;
