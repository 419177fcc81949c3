-- The current version's canonical JSON lives in `records.canonical_json` only: the current
-- version's `record_versions` row holds NULL, and a version's row gets its JSON (copied from
-- the record) when a correction supersedes it. Rows stored before keep theirs.
-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt.
CREATE TABLE record_versions_new (
    record_id TEXT NOT NULL REFERENCES records (id),
    version BIGINT NOT NULL,
    content_hash BLOB NOT NULL,
    canonical_json TEXT,
    submission_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_id, version)
);
INSERT INTO record_versions_new (record_id, version, content_hash, canonical_json, submission_id,
                                 created_at)
SELECT record_id, version, content_hash, canonical_json, submission_id, created_at
FROM record_versions;
DROP TABLE record_versions;
ALTER TABLE record_versions_new RENAME TO record_versions;
