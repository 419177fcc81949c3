CREATE TABLE outbox (
    event_seq BIGINT PRIMARY KEY NOT NULL REFERENCES events (seq),
    event_id TEXT NOT NULL UNIQUE,
    subject_id TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    leased_until TIMESTAMP,
    lease_owner TEXT,
    last_error TEXT,
    last_status BIGINT,
    delivered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_subject ON outbox (subject_id, event_seq);

-- Back to one row per event: an exception keeps its state; an event the cursor passed was
-- delivered; an event after it is pending.
INSERT INTO outbox (event_seq, event_id, subject_id, status, attempts, next_attempt_at,
    last_error, last_status, delivered_at, created_at)
SELECT e.seq, e.id, e.subject_id,
       COALESCE(x.status, CASE WHEN e.seq <= c.delivered_through THEN 'delivered' ELSE 'pending' END),
       COALESCE(x.attempts, CASE WHEN e.seq <= c.delivered_through THEN 1 ELSE 0 END),
       COALESCE(x.next_attempt_at, e.created_at),
       x.last_error, x.last_status,
       CASE WHEN x.event_seq IS NOT NULL THEN x.delivered_at
            WHEN e.seq <= c.delivered_through THEN
                 COALESCE((SELECT MIN(r.delivered_at) FROM delivery_rounds r
                           WHERE r.connector = c.connector AND r.through >= e.seq), c.updated_at)
       END,
       e.created_at
FROM events e
CROSS JOIN delivery_cursors c
LEFT JOIN delivery_exceptions x ON x.connector = c.connector AND x.event_seq = e.seq
WHERE c.connector = 'platform';

DROP TABLE delivery_exceptions;
DROP TABLE delivery_rounds;
DROP TABLE delivery_cursors;
