-- Fails (NOT NULL) once a push stored its raw items only in submission_batches: reverting
-- would lose them. Roll forward instead.
CREATE TABLE submissions_old (
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
INSERT INTO submissions_old (id, batch_id, item_index, unit_code, received_at, idempotency_key,
                             raw_json, outcome, record_id, errors_json)
SELECT id, batch_id, item_index, unit_code, received_at, idempotency_key, raw_json, outcome,
       record_id, errors_json
FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_old RENAME TO submissions;
CREATE INDEX submissions_record ON submissions (record_id);
CREATE INDEX submissions_unit ON submissions (unit_code, received_at);
DROP TABLE submission_batches;
