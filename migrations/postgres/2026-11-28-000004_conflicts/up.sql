-- Jurisdiction conflicts (管辖冲突): one act of one subject penalized by several authorities.
-- The record filed first keeps jurisdiction (art. 25); the others are losers, kept, linked to
-- the conflict, and never counted (art. 29). A record's current place in a conflict lives on
-- the record (conflict_id, conflict_role); the conflict keeps its members as JSON for history.
CREATE TABLE conflicts (
    id TEXT PRIMARY KEY NOT NULL,
    subject_id TEXT NOT NULL,
    violation_key TEXT NOT NULL,
    winner_record_id TEXT NOT NULL,
    -- open | resolved | void (no longer a conflict: a side was revoked or corrected away)
    status TEXT NOT NULL,
    -- transferred | both_stand | merged, once resolved
    resolution TEXT,
    resolution_note TEXT,
    resolved_by TEXT,
    resolved_at TIMESTAMP,
    members_json TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX conflicts_subject ON conflicts (subject_id);
CREATE INDEX conflicts_status ON conflicts (status, id);

-- winner | loser | stands (resolved as two acts: both count)
ALTER TABLE records ADD COLUMN conflict_id TEXT;
ALTER TABLE records ADD COLUMN conflict_role TEXT;
CREATE INDEX records_conflict ON records (conflict_id);
