-- Raw submissions once per batch: the items of a push as received (ID numbers sealed), in
-- item order, concatenated and deflated into one row, with the end offset of each item (u32
-- little-endian, one per item) so item k can be cut out. `submissions` keeps one slim row per
-- item; its `raw_json` is NULL for rows whose item lives in the batch (`batch_ref`). Rows
-- stored before keep their `raw_json`.
CREATE TABLE submission_batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- The request id (not unique: a client may choose it with X-Request-Id).
    batch_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    idempotency_key TEXT,
    -- How `body` is compressed: 'deflate' (raw DEFLATE, RFC 1951).
    encoding TEXT NOT NULL,
    item_ends BLOB NOT NULL,
    body BLOB NOT NULL
);

-- SQLite cannot drop a NOT NULL constraint: the table is rebuilt.
CREATE TABLE submissions_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    batch_id TEXT NOT NULL,
    item_index BIGINT NOT NULL,
    unit_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    idempotency_key TEXT,
    raw_json TEXT,
    outcome TEXT NOT NULL,
    record_id TEXT,
    errors_json TEXT,
    batch_ref BIGINT REFERENCES submission_batches (id)
);
INSERT INTO submissions_new (id, batch_id, item_index, unit_code, received_at, idempotency_key,
                             raw_json, outcome, record_id, errors_json)
SELECT id, batch_id, item_index, unit_code, received_at, idempotency_key, raw_json, outcome,
       record_id, errors_json
FROM submissions;
DROP TABLE submissions;
ALTER TABLE submissions_new RENAME TO submissions;
CREATE INDEX submissions_record ON submissions (record_id);
CREATE INDEX submissions_unit ON submissions (unit_code, received_at);
