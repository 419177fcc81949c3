-- Every version's JSON in its row again: the current one's from the record.
CREATE TABLE record_versions_old (
    record_id TEXT NOT NULL REFERENCES records (id),
    version BIGINT NOT NULL,
    content_hash BLOB NOT NULL,
    canonical_json TEXT NOT NULL,
    submission_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_id, version)
);
INSERT INTO record_versions_old (record_id, version, content_hash, canonical_json, submission_id,
                                 created_at)
SELECT v.record_id, v.version, v.content_hash, COALESCE(v.canonical_json, r.canonical_json),
       v.submission_id, v.created_at
FROM record_versions v JOIN records r ON r.id = v.record_id;
DROP TABLE record_versions;
ALTER TABLE record_versions_old RENAME TO record_versions;
