-- First-violation exemptions (不予行政处罚决定, 首违不罚): reported by units, never published,
-- never counted as penalties, found by the first-violation check. The subject is kept by its
-- key: the USCC, or the keyed blind index of the resident ID (the number itself is sealed in
-- detail_json).
CREATE TABLE exemptions (
    id TEXT PRIMARY KEY NOT NULL,
    authority_code TEXT NOT NULL,
    party TEXT NOT NULL,
    decision_no TEXT NOT NULL,
    subject_key_kind TEXT NOT NULL,
    subject_key_value TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    violation_code TEXT NOT NULL,
    violation_type TEXT NOT NULL,
    decided_on DATE NOT NULL,
    list_item TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (authority_code, decision_no)
);
CREATE INDEX exemptions_subject ON exemptions (subject_key_kind, subject_key_value, decided_on);
