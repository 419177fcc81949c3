DROP INDEX records_violation_code;
ALTER TABLE records DROP COLUMN violation_provision;
ALTER TABLE records DROP COLUMN violation_matched_by;
ALTER TABLE records DROP COLUMN violation_code;
