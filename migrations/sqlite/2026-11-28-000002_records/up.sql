-- Ingest: canonical records with their versions, every submission as received, and the
-- idempotency answers of batch pushes.
CREATE TABLE records (
    id TEXT PRIMARY KEY NOT NULL,
    authority_code TEXT NOT NULL,
    decision_no TEXT NOT NULL,
    party TEXT NOT NULL,
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    content_hash BLOB NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    subject_uscc TEXT,
    subject_id_index TEXT,
    violation_type TEXT NOT NULL,
    decision_date DATE NOT NULL,
    fine_fen BIGINT,
    publicity_until DATE NOT NULL,
    publicity_min_until DATE NOT NULL,
    canonical_json TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_by TEXT,
    revoke_reason TEXT,
    revoke_note TEXT,
    UNIQUE (authority_code, decision_no)
);
CREATE INDEX records_subject_uscc ON records (subject_uscc);
CREATE INDEX records_subject_id_index ON records (subject_id_index);
CREATE INDEX records_party_date ON records (party, decision_date);

CREATE TABLE record_versions (
    record_id TEXT NOT NULL REFERENCES records (id),
    version BIGINT NOT NULL,
    content_hash BLOB NOT NULL,
    canonical_json TEXT NOT NULL,
    submission_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (record_id, version)
);

CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    batch_id TEXT NOT NULL,
    item_index BIGINT NOT NULL,
    unit_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    idempotency_key TEXT,
    raw_json TEXT NOT NULL,
    outcome TEXT NOT NULL,
    record_id TEXT,
    errors_json TEXT
);
CREATE INDEX submissions_record ON submissions (record_id);
CREATE INDEX submissions_unit ON submissions (unit_code, received_at);

CREATE TABLE idempotency_keys (
    unit_code TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_json TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (unit_code, idem_key)
);
