DROP INDEX subject_names_match_core;
DROP INDEX subject_names_match_key;
ALTER TABLE subject_names DROP COLUMN match_chain;
ALTER TABLE subject_names DROP COLUMN match_core;
ALTER TABLE subject_names DROP COLUMN match_key;
ALTER TABLE subjects DROP COLUMN unlinked_at;
