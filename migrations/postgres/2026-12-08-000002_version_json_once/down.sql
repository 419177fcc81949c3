-- Every version's JSON in its row again: the current one's from the record.
UPDATE record_versions v SET canonical_json = r.canonical_json
FROM records r
WHERE r.id = v.record_id AND v.canonical_json IS NULL;
ALTER TABLE record_versions ALTER COLUMN canonical_json SET NOT NULL;
