-- Foundation: runtime unit changes, analyst API keys, the audit hash chain.
CREATE TABLE unit_overrides (
    code TEXT PRIMARY KEY NOT NULL,
    unit_json TEXT,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    changed_at TIMESTAMP NOT NULL,
    changed_by TEXT NOT NULL
);

CREATE TABLE api_keys (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- One row per hash chain / gap-free sequence. Writers lock the row (UPDATE … RETURNING), so
-- sequence numbers are handed out and committed in order.
CREATE TABLE chain_heads (
    name TEXT PRIMARY KEY NOT NULL,
    seq BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO chain_heads (name, seq, hash)
VALUES ('audit', 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY NOT NULL,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    hash BYTEA NOT NULL
);
