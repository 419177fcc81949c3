DROP INDEX subjects_weak_name;
DROP INDEX subject_names_name;
