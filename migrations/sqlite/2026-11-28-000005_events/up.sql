-- Events for the credit platform and their delivery rows (the transactional outbox).
-- `events.seq` is gap-free: handed out from the chain_heads row 'events' inside the writer's
-- transaction (BEGIN IMMEDIATE serializes writers on SQLite).
CREATE TABLE events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    record_id TEXT,
    flag_id TEXT,
    payload TEXT NOT NULL,
    jws TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX events_subject ON events (subject_id, seq);

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

INSERT INTO chain_heads (name, seq, hash) VALUES ('events', 0, X'');
