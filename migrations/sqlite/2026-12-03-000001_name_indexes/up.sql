-- Subject resolution looks subjects up by folded name across the region (a new identified
-- subject links its unidentified namesakes; a new unidentified one looks for its one identified
-- namesake). Without these, each lookup scanned the whole table.
CREATE INDEX subject_names_name ON subject_names (name);
CREATE INDEX subjects_weak_name ON subjects (name) WHERE strong = FALSE AND linked_to IS NULL;
