-- Where each record sits in the violation-type catalogue (config/catalog.toml), decided at push
-- from its 违法行为类型 and 处罚依据 and refreshed by `penex catalog apply` when the catalogue
-- changes: the code (NULL: unmapped), how it was matched, and the provision that matched.
ALTER TABLE records ADD COLUMN violation_code TEXT;
ALTER TABLE records ADD COLUMN violation_matched_by TEXT;
ALTER TABLE records ADD COLUMN violation_provision TEXT;
CREATE INDEX records_violation_code ON records (violation_code);
