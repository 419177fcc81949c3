-- The event log is the outbox (issue #16). Delivery state was one `outbox` row per event; it is
-- now a cursor per connector (every event with `seq <= delivered_through` was handed to it:
-- delivered, or moved to the exceptions) plus a small table of the exceptions: events being
-- retried, waiting behind an earlier undelivered event of their subject, or dead.
CREATE TABLE delivery_cursors (
    connector TEXT PRIMARY KEY NOT NULL,
    delivered_through BIGINT NOT NULL,
    -- The publisher instance holding the cursor, and until when.
    lease_owner TEXT,
    leased_until TIMESTAMP,
    -- Rounds in a row in which every delivery failed (the connector is down): the head waits,
    -- backing off, and its events become dead letters at the retry limit.
    head_attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    last_status BIGINT,
    -- Delivery requests sent from the cursor, in all.
    sends BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL
);

-- One row per round of the cursor: the events it passed (`from_seq` to `through`) and when the
-- round was recorded. The events of the range not in the exceptions were delivered then.
CREATE TABLE delivery_rounds (
    connector TEXT NOT NULL REFERENCES delivery_cursors (connector),
    through BIGINT NOT NULL,
    from_seq BIGINT NOT NULL,
    delivered_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connector, through)
);

CREATE TABLE delivery_exceptions (
    connector TEXT NOT NULL REFERENCES delivery_cursors (connector),
    event_seq BIGINT NOT NULL REFERENCES events (seq),
    event_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    -- pending (retrying, or waiting behind an earlier event of its subject), delivered, dead
    status TEXT NOT NULL,
    -- Attempts counted against the retry limit (an operator's retry resets them).
    attempts BIGINT NOT NULL,
    -- Delivery requests sent by the exception workers, in all (never reset).
    sends BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    lease_owner TEXT,
    last_error TEXT,
    last_status BIGINT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connector, event_seq)
);
CREATE INDEX delivery_exceptions_due ON delivery_exceptions (connector, status, next_attempt_at);
CREATE INDEX delivery_exceptions_subject ON delivery_exceptions (connector, subject_id, event_seq);
CREATE INDEX delivery_exceptions_event ON delivery_exceptions (event_id);

-- Existing rows: the cursor passes every event that has an outbox row; every row not delivered
-- (pending, retrying, dead) becomes an exception with its attempts, error and due time, and so
-- does every delivered row that needed more than one attempt (its history). Rows delivered at the
-- first attempt are summed up in the cursor and one round per delivery time.
INSERT INTO delivery_cursors (connector, delivered_through, next_attempt_at, sends, updated_at)
SELECT 'platform', COALESCE(MAX(event_seq), 0), CURRENT_TIMESTAMP,
       COALESCE(SUM(CASE WHEN status = 'delivered' AND attempts <= 1 THEN attempts ELSE 0 END), 0),
       CURRENT_TIMESTAMP
FROM outbox;

INSERT INTO delivery_exceptions (connector, event_seq, event_id, subject_id, status, attempts,
    sends, next_attempt_at, last_error, last_status, delivered_at, created_at)
SELECT 'platform', event_seq, event_id, subject_id, status, attempts, attempts, next_attempt_at,
       last_error, last_status, delivered_at, created_at
FROM outbox
WHERE status <> 'delivered' OR attempts > 1;

INSERT INTO delivery_rounds (connector, through, from_seq, delivered_at)
SELECT 'platform', MAX(event_seq), MIN(event_seq), delivered_at
FROM outbox
WHERE status = 'delivered' AND attempts <= 1 AND delivered_at IS NOT NULL
GROUP BY delivered_at;

DROP TABLE outbox;
