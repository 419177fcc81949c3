ALTER TABLE records DROP COLUMN repaired_by;
ALTER TABLE records DROP COLUMN repaired_at;
DROP TABLE flag_versions;
DROP TABLE flags;
