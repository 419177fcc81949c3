-- The column comes back NULL-able and empty: SQLite has no base64 decoder to refill it from
-- the JWS (a release that reads `payload` needs the PostgreSQL refill, or re-decoding).
ALTER TABLE events ADD COLUMN payload TEXT;
