-- Every strong identifier a subject has been seen with (统一社会信用代码, the organization code
-- inside it or given alone, registration numbers, blind indexes of identity documents) points to
-- the one subject: a record carrying any of them finds it. A key belongs to one subject only, so
-- two subjects known by different strong identifiers are never merged by a third record.
CREATE TABLE subject_keys (
    key_kind TEXT NOT NULL,
    key_value TEXT NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (key_kind, key_value)
);
CREATE INDEX subject_keys_subject ON subject_keys (subject_id);

INSERT INTO subject_keys (key_kind, key_value, subject_id, created_at)
SELECT key_kind, key_value, id, created_at FROM subjects;

-- Positions 9-17 of a USCC are the subject's organization code (GB 32100).
INSERT INTO subject_keys (key_kind, key_value, subject_id, created_at)
SELECT 'org_code', substr(key_value, 9, 9), id, created_at FROM subjects WHERE key_kind = 'uscc'
ON CONFLICT (key_kind, key_value) DO NOTHING;
