DROP INDEX records_conflict;
ALTER TABLE records DROP COLUMN conflict_role;
ALTER TABLE records DROP COLUMN conflict_id;
DROP TABLE conflicts;
