-- PostgreSQL only (lz4 compression of large text columns); SQLite does not compress. Kept so
-- both dialects carry the same migration versions.
SELECT 1;
