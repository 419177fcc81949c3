DROP INDEX records_subject_id;
ALTER TABLE records DROP COLUMN subject_id;
DROP TABLE subject_names;
DROP TABLE subjects;
