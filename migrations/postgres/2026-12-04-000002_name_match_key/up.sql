-- The matching key of every name a subject was seen under (src/normalize/names.rs): the name
-- folded for matching (繁→简, brackets, 有限责任公司 = 有限公司), and, when it starts with
-- administrative divisions of one party, the rest within that party (`SH|鑫华建筑工程有限公司`)
-- with the divisions stripped (`上海`). Weak subjects are linked by these keys, through indexes.
ALTER TABLE subject_names ADD COLUMN match_key TEXT NOT NULL DEFAULT '';
ALTER TABLE subject_names ADD COLUMN match_core TEXT;
ALTER TABLE subject_names ADD COLUMN match_chain TEXT NOT NULL DEFAULT '';
-- Until `penex subjects relink` computes the keys with the current folding, a name matches by
-- its folded form, as it did before.
UPDATE subject_names SET match_key = name;
CREATE INDEX subject_names_match_key ON subject_names (match_key);
CREATE INDEX subject_names_match_core ON subject_names (match_core) WHERE match_core IS NOT NULL;

-- An operator's unlink sticks: a subject unlinked by an operator is never linked again by name.
ALTER TABLE subjects ADD COLUMN unlinked_at TIMESTAMP;
UPDATE subjects SET unlinked_at = (
    SELECT MAX(a.at) FROM audit_log a WHERE a.action = 'subject.unlink' AND a.target = subjects.id
) WHERE linked_to IS NULL;
