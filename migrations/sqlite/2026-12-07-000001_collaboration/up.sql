-- Case collaboration (案件查处协作): items units send each other (clue notices, case
-- transfers, assistance requests, entrusted service), their timelines, attachments, reminders
-- and the units' own signed event feed. Never published to the credit platform.
CREATE TABLE collab_items (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL,
    doc_no TEXT NOT NULL,
    sender TEXT NOT NULL,
    sender_party TEXT NOT NULL,
    receiver TEXT NOT NULL,
    receiver_party TEXT NOT NULL,
    approver TEXT,
    status TEXT NOT NULL,
    extension_pending BOOLEAN NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    subject_key_kind TEXT,
    subject_key_value TEXT,
    violation_code TEXT,
    violation_type TEXT NOT NULL,
    place TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    due_on DATE,
    due_provisional BOOLEAN NOT NULL,
    overdue BOOLEAN NOT NULL,
    sent_on DATE,
    received_on DATE,
    answered_on DATE,
    answered_late BOOLEAN,
    filed_on DATE,
    case_no TEXT,
    record_id TEXT,
    conflict_id TEXT,
    steps BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (sender, kind, doc_no)
);
CREATE INDEX collab_items_sender ON collab_items (sender, id);
CREATE INDEX collab_items_receiver ON collab_items (receiver, id);
CREATE INDEX collab_items_due ON collab_items (overdue, due_on);
CREATE INDEX collab_items_subject ON collab_items (subject_key_kind, subject_key_value);
CREATE INDEX collab_items_record ON collab_items (record_id);

CREATE TABLE collab_steps (
    item_id TEXT NOT NULL REFERENCES collab_items (id),
    n BIGINT NOT NULL,
    step TEXT NOT NULL,
    actor_unit TEXT,
    actor TEXT NOT NULL,
    status_after TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    on_day DATE NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, n)
);

CREATE TABLE collab_attachments (
    item_id TEXT NOT NULL REFERENCES collab_items (id),
    sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    uploaded_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (item_id, sha256)
);

CREATE TABLE collab_notices (
    unit TEXT NOT NULL,
    item_id TEXT NOT NULL REFERENCES collab_items (id),
    reason TEXT NOT NULL,
    due_on DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (unit, item_id, reason, due_on)
);

-- The units' feed: gap-free seq from the chain_heads row 'collab_events', one audience row
-- per unit that may read the event.
CREATE TABLE collab_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    item_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    jws TEXT NOT NULL,
    kid TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE collab_event_audience (
    unit TEXT NOT NULL,
    seq BIGINT NOT NULL REFERENCES collab_events (seq),
    PRIMARY KEY (unit, seq)
);

INSERT INTO chain_heads (name, seq, hash) VALUES ('collab_events', 0, X'');
