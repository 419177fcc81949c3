-- The large text columns (canonical records, raw submissions, event payloads and their JWS,
-- stored answers, audit details) are compressed with lz4 instead of pglz where the server was
-- built with it (PostgreSQL 14+): several times cheaper to compress on every push, as small.
-- A server without lz4 keeps pglz; nothing else changes.
DO $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM pg_settings
        WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)
    ) THEN
        ALTER TABLE records ALTER COLUMN canonical_json SET COMPRESSION lz4;
        ALTER TABLE record_versions ALTER COLUMN canonical_json SET COMPRESSION lz4;
        ALTER TABLE submissions ALTER COLUMN raw_json SET COMPRESSION lz4;
        ALTER TABLE events ALTER COLUMN payload SET COMPRESSION lz4;
        ALTER TABLE events ALTER COLUMN jws SET COMPRESSION lz4;
        ALTER TABLE idempotency_keys ALTER COLUMN response_json SET COMPRESSION lz4;
        ALTER TABLE audit_log ALTER COLUMN detail SET COMPRESSION lz4;
    END IF;
END
$$;
