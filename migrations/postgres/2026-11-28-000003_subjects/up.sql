-- Subjects (行政相对人) resolved by their strongest identifier; weak subjects linked to strong
-- ones when a later record brings the identifier.
CREATE TABLE subjects (
    id TEXT PRIMARY KEY NOT NULL,
    key_kind TEXT NOT NULL,
    key_value TEXT NOT NULL,
    strong BOOLEAN NOT NULL,
    kind TEXT NOT NULL,
    party TEXT NOT NULL,
    name TEXT NOT NULL,
    linked_to TEXT,
    link_reason TEXT,
    linked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (key_kind, key_value)
);
CREATE INDEX subjects_name ON subjects (party, name);
CREATE INDEX subjects_linked_to ON subjects (linked_to);

CREATE TABLE subject_names (
    subject_id TEXT NOT NULL REFERENCES subjects (id),
    name TEXT NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_id, name)
);

ALTER TABLE records ADD COLUMN subject_id TEXT;
CREATE INDEX records_subject_id ON records (subject_id);
