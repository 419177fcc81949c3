-- `events.payload` repeated the bytes signed in `events.jws` (its base64url payload segment):
-- readers decode the JWS instead.
ALTER TABLE events DROP COLUMN payload;
