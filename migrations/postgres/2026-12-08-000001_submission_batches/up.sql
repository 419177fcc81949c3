-- Raw submissions once per batch: the items of a push as received (ID numbers sealed), in
-- item order, concatenated and deflated into one row, with the end offset of each item (u32
-- little-endian, one per item) so item k can be cut out. `submissions` keeps one slim row per
-- item; its `raw_json` is NULL for rows whose item lives in the batch (`batch_ref`). Rows
-- stored before keep their `raw_json`.
CREATE TABLE submission_batches (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The request id (not unique: a client may choose it with X-Request-Id).
    batch_id TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    idempotency_key TEXT,
    -- How `body` is compressed: 'deflate' (raw DEFLATE, RFC 1951).
    encoding TEXT NOT NULL,
    item_ends BYTEA NOT NULL,
    body BYTEA NOT NULL
);
-- Already compressed: TOAST stores it out of line without trying to compress it again.
ALTER TABLE submission_batches ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE submissions ALTER COLUMN raw_json DROP NOT NULL;
ALTER TABLE submissions ADD COLUMN batch_ref BIGINT REFERENCES submission_batches (id);
