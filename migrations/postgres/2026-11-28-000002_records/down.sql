DROP TABLE idempotency_keys;
DROP TABLE submissions;
DROP TABLE record_versions;
DROP TABLE records;
