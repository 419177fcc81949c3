-- Joint-discipline flags: one per subject and rule, with every version kept. A flag's basis
-- is the list of record ids it rests on; `parties` the parties of those records (filtering).
CREATE TABLE flags (
    id TEXT PRIMARY KEY NOT NULL,
    subject_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    severity TEXT NOT NULL,
    -- active | expired | repaired | withdrawn
    status TEXT NOT NULL,
    basis_json TEXT NOT NULL,
    parties TEXT NOT NULL,
    effective_from DATE NOT NULL,
    effective_until DATE NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (subject_id, rule_id)
);
CREATE INDEX flags_status ON flags (status, id);
CREATE INDEX flags_until ON flags (status, effective_until);

CREATE TABLE flag_versions (
    flag_id TEXT NOT NULL REFERENCES flags (id),
    version BIGINT NOT NULL,
    status TEXT NOT NULL,
    basis_json TEXT NOT NULL,
    effective_from DATE NOT NULL,
    effective_until DATE NOT NULL,
    -- what changed it: push, revoke, conflict, repair, sweep
    cause TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (flag_id, version)
);

-- Credit repair (信用修复) ends a record's publicity early.
ALTER TABLE records ADD COLUMN repaired_at TIMESTAMP;
ALTER TABLE records ADD COLUMN repaired_by TEXT;
